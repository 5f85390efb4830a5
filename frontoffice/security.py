"""Whether a secret key may sign a production site's sessions, CSRF tokens and reset links.

Settings refuse to load with debug off, a host name beyond this machine and a key from this
repository (the development fallback, the .env.example placeholder) or one `check --deploy`
calls weak: anyone who reads the repository could forge what such a key signs.
"""

from __future__ import annotations

# The fallback in settings.py and the placeholder in .env.example: public, never a secret.
DEVELOPMENT_KEY = "django-insecure-frontoffice-development-key-do-not-use-in-production"
KNOWN_KEYS = frozenset({DEVELOPMENT_KEY, "change-me"})
# A laptop, CI and the test client: the development key may serve these with debug off.
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]", "testserver"})
MIN_LENGTH = 50
MIN_DISTINCT_CHARACTERS = 5


def secret_key_problem(secret_key: str) -> str | None:
    """Why `secret_key` is not fit for production (the rules of `check --deploy`), or None."""
    if secret_key in KNOWN_KEYS or secret_key.startswith("django-insecure-"):
        return "it is a key published in the repository"
    if len(secret_key) < MIN_LENGTH:
        return f"it is shorter than {MIN_LENGTH} characters"
    if len(set(secret_key)) < MIN_DISTINCT_CHARACTERS:
        return f"it has fewer than {MIN_DISTINCT_CHARACTERS} different characters"
    return None


def insecure_deployment(*, debug: bool, allowed_hosts: list[str], secret_key: str) -> str | None:
    """The message to refuse start-up with, or None: debug off, served beyond this machine, and
    a key that is not secret."""
    if debug or not set(allowed_hosts) - LOCAL_HOSTS:
        return None
    problem = secret_key_problem(secret_key)
    if problem is None:
        return None
    return (
        f"DJANGO_SECRET_KEY is not secret ({problem}) and debug is off for "
        f"{', '.join(allowed_hosts)}. Set a long random key: "
        'python -c "import secrets; print(secrets.token_urlsafe(50))"'
    )
