"""The language a page is rendered in: the staff member's chosen one, else the browser's.

Django's ``LocaleMiddleware`` picks the language from the language cookie or Accept-Language
before anyone is signed in; ``StaffLanguageMiddleware`` (after authentication) replaces it with
the user's ``StaffPreference`` when they chose one. The preference is read when they sign in
and kept in their session, so a page costs no query for it.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from accounts.preferences import staff_language, staff_preference_set_language

SESSION_KEY = "staff_language"


def _known(language: str) -> bool:
    return language in {code for code, _name in settings.LANGUAGES}


class StaffLanguageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.staff_language = ""
        user = getattr(request, "user", None)
        # Only a request with a session can be signed in: a token API call never loads one here.
        has_session = settings.SESSION_COOKIE_NAME in request.COOKIES
        if user is not None and has_session and user.is_authenticated:
            chosen = request.session.get(SESSION_KEY, "")
            if chosen and _known(chosen):
                request.staff_language = chosen
                translation.activate(chosen)
                request.LANGUAGE_CODE = chosen
        return self.get_response(request)


def remember_language_at_sign_in(sender, request, user, **kwargs) -> None:
    """`user_logged_in` receiver: the session carries the user's language from now on."""
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_KEY] = staff_language(user)


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Django's ``set_language`` (checks `next`, sets the language cookie), and for a signed-in
    user their preference as well. An empty language goes back to following the browser."""
    language = (request.POST.get("language") or "").strip()
    response = django_set_language(request)
    if not language:
        response.delete_cookie(settings.LANGUAGE_COOKIE_NAME)
    if request.user.is_authenticated and (not language or _known(language)):
        staff_preference_set_language(user=request.user, language=language)
        request.session[SESSION_KEY] = language
    return response
