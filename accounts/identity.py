"""Normalising the keys a person is recognised by: email, phone and company domain."""

from __future__ import annotations

import re
import unicodedata

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from frontoffice.errors import ApplicationError

# Mailbox providers: an address there says nothing about the person's organisation.
FREE_MAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "yahoo.co.jp",
        "ymail.com",
        "outlook.com",
        "outlook.jp",
        "hotmail.com",
        "hotmail.co.jp",
        "live.com",
        "live.jp",
        "msn.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "aol.com",
        "proton.me",
        "protonmail.com",
        "gmx.com",
        "gmx.de",
        "mail.com",
        "docomo.ne.jp",
        "ezweb.ne.jp",
        "au.com",
        "softbank.ne.jp",
        "i.softbank.jp",
        "nifty.com",
        "biglobe.ne.jp",
        "ocn.ne.jp",
        "so-net.ne.jp",
        "qq.com",
        "163.com",
        "naver.com",
        "yandex.ru",
    }
)

_DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def normalize_email(value: str, *, field: str = "email") -> str:
    """Lower-case and strip an address; '' stays ''. Raises ApplicationError when malformed."""
    email = (value or "").strip().lower()
    if not email:
        return ""
    try:
        validate_email(email)
    except ValidationError as exc:
        raise ApplicationError(
            "Enter a valid email address.", errors={field: ["Enter a valid email address."]}
        ) from exc
    return email


def normalize_phone(value: str) -> str:
    """Digits in E.164 form: '03-1234-5678' → '+81312345678' (national numbers get the default
    country code), '+81 (3) 1234 5678' and '+81 (0)3-1234-5678' → '+81312345678',
    '0081…' → '+81…'; full-width digits and signs count as their ASCII forms. '' when fewer
    than 5 digits."""
    # NFKC: Japanese input methods often type full-width digits, hyphens and plus signs.
    raw = unicodedata.normalize("NFKC", value or "").strip()
    if raw.startswith("+"):
        # '+81 (0)3-…': the bracketed trunk prefix is not dialled with the country code.
        raw = re.sub(r"\(\s*0\s*\)", "", raw, count=1)
    digits = re.sub(r"[^0-9]", "", raw)
    if len(digits) < 5:
        return ""
    if raw.startswith("+"):
        return f"+{digits}"[:20]
    if digits.startswith("00"):
        return f"+{digits[2:]}"[:20]
    country_code = settings.FRONTOFFICE_DEFAULT_COUNTRY_CODE
    if digits.startswith("0") and country_code:
        return f"+{country_code}{digits[1:]}"[:20]
    return digits[:20]


def normalize_domain(value: str, *, field: str = "domain") -> str:
    """'https://www.Example.co.jp/about' → 'example.co.jp'; '' stays ''."""
    domain = (value or "").strip().lower()
    if not domain:
        return ""
    domain = re.sub(r"^[a-z][a-z0-9+.-]*://", "", domain)
    domain = re.split(r"[/?#:]", domain, maxsplit=1)[0].rstrip(".")
    domain = domain.removeprefix("www.")
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise ApplicationError(
            "Enter a valid domain name.", errors={field: ["Enter a valid domain name."]}
        ) from exc
    if not _DOMAIN_RE.match(domain):
        raise ApplicationError(
            "Enter a valid domain name.", errors={field: ["Enter a valid domain name."]}
        )
    return domain


def company_domain_of(email: str) -> str:
    """The organisation's domain an address belongs to, '' for free-mail providers."""
    if "@" not in email:
        return ""
    try:
        # The same form as Account.domain, so an IDN address ('taro@例え.jp') finds its account.
        domain = normalize_domain(email.rsplit("@", 1)[1])
    except ApplicationError:
        return ""
    return "" if domain in FREE_MAIL_DOMAINS else domain
