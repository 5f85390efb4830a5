"""The workspace's frame: sign-in and sign-out, and /app/ sending each user to their page."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse, reverse_lazy

from frontoffice.workspace.access import workspace_view
from frontoffice.workspace.navigation import home_url_for


@workspace_view()
def home(request: HttpRequest) -> HttpResponse:
    """The user's landing page (by role, through the menu's ranks); the search page when their
    role has none."""
    return redirect(home_url_for(request.user) or reverse("workspace:search"))


class LoginView(auth_views.LoginView):
    template_name = "workspace/login.html"
    redirect_authenticated_user = True

    def get_default_redirect_url(self) -> str:
        return reverse("workspace:home")


class LogoutView(auth_views.LogoutView):
    next_page = reverse_lazy("workspace:login")
