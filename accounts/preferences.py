"""A staff member's own settings (today: the workspace language)."""

from __future__ import annotations

from django.conf import settings

from accounts.models import StaffPreference
from frontoffice.errors import ApplicationError


def staff_language(user) -> str:
    """The language `user` chose ("" when they follow their browser)."""
    if not getattr(user, "is_authenticated", False):
        return ""
    language = StaffPreference.objects.filter(user=user).values_list("language", flat=True).first()
    return language or ""


def staff_preference_set_language(*, user, language: str) -> StaffPreference:
    """Remember `language` (one of settings.LANGUAGES, or "" to follow the browser) for `user`."""
    language = (language or "").strip()
    known = {code for code, _name in settings.LANGUAGES}
    if language and language not in known:
        message = f"{language!r} is not one of {', '.join(sorted(known))}."
        raise ApplicationError(message, errors={"language": [message]})
    preference, _created = StaffPreference.objects.update_or_create(
        user=user, defaults={"language": language}
    )
    return preference
