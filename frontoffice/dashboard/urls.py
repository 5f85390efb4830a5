"""The staff KPI dashboard (server-rendered; charts drawn from our static files)."""

from django.urls import path

from frontoffice.dashboard import views

app_name = "dashboard"
urlpatterns = [
    path("", views.dashboard, name="index"),
]
