"""Pipeline pages outside the API and the admin (e.g. the printable quote)."""

from django.urls import path

from pipeline import views

app_name = "pipeline"
urlpatterns = [
    path("quotes/<int:pk>/print/", views.quote_print, name="quote_print"),
]
