"""The IMAP poller: reads new mail of the support mailbox (settings.IMAP_URL) by UID and feeds
each message to ``inquiries.email_in``.

The cursor (UIDVALIDITY and the last UID taken) advances after each message is stored, so a
poller killed half-way reads at most one message again, which its Message-ID makes a duplicate.
When the server changes UIDVALIDITY (the mailbox was recreated) the old UIDs mean nothing: the
mailbox is read from the start, and the Message-IDs recognise what we already have. Messages are
fetched with BODY.PEEK (their \\Seen flag stays as it was) and never deleted.
"""

from __future__ import annotations

import contextlib
import imaplib
import re
import ssl
from collections import Counter
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.utils import timezone

from inquiries import email_in
from inquiries.models import MailboxCursor, QuarantinedEmail

UID_RE = re.compile(rb"UID (\d+)")


class MailboxError(Exception):
    """The mailbox cannot be polled (bad IMAP_URL, server unreachable, login refused)."""


@dataclass(frozen=True)
class MailboxSettings:
    secure: bool
    host: str
    port: int
    user: str
    password: str
    folder: str

    @property
    def name(self) -> str:
        return f"{self.user}@{self.host}:{self.port}/{self.folder}"


def mailbox_settings(url: str) -> MailboxSettings:
    """`imap://user:password@host:143/INBOX` or `imaps://...` (the folder defaults to INBOX)."""
    parts = urlsplit(url)
    if parts.scheme not in ("imap", "imaps"):
        raise MailboxError(f"IMAP_URL must start with imap:// or imaps://, not {parts.scheme!r}.")
    try:
        port = parts.port
    except ValueError as exc:
        raise MailboxError(f"IMAP_URL has a bad port: {exc}.") from exc
    if not parts.hostname or not parts.username:
        raise MailboxError("IMAP_URL needs a user and a host: imap://user:password@host/INBOX.")
    secure = parts.scheme == "imaps"
    return MailboxSettings(
        secure=secure,
        host=parts.hostname,
        port=port or (993 if secure else 143),
        user=unquote(parts.username),
        password=unquote(parts.password or ""),
        folder=unquote(parts.path.lstrip("/")) or "INBOX",
    )


def _connect(config: MailboxSettings) -> imaplib.IMAP4:
    timeout = settings.IMAP_TIMEOUT
    try:
        if config.secure:
            imap = imaplib.IMAP4_SSL(
                config.host,
                config.port,
                ssl_context=ssl.create_default_context(),
                timeout=timeout,
            )
        else:
            imap = imaplib.IMAP4(config.host, config.port, timeout=timeout)
    except (OSError, imaplib.IMAP4.error) as exc:
        raise MailboxError(f"Cannot reach {config.host}:{config.port}: {exc}") from exc
    try:
        imap.login(config.user, config.password)
        status, _data = imap.select(_quoted(config.folder), readonly=True)
        if status != "OK":
            raise MailboxError(f"Cannot open the folder {config.folder!r}.")
    except (OSError, imaplib.IMAP4.error) as exc:
        _logout(imap)
        raise MailboxError(f"Login or folder refused for {config.name}: {exc}") from exc
    except MailboxError:
        _logout(imap)
        raise
    return imap


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _logout(imap: imaplib.IMAP4) -> None:
    # The connection may be gone already; there is nothing left to close then.
    with contextlib.suppress(OSError, imaplib.IMAP4.error):
        imap.logout()


def _uid_validity(imap: imaplib.IMAP4) -> int:
    _name, values = imap.response("UIDVALIDITY")
    if not values or values[0] is None:
        raise MailboxError("The server did not report UIDVALIDITY.")
    return int(values[0])


def _new_uids(imap: imaplib.IMAP4, after: int) -> list[int]:
    status, data = imap.uid("SEARCH", None, f"UID {after + 1}:*")
    if status != "OK":
        raise MailboxError(f"UID SEARCH failed: {data!r}")
    uids = {int(uid) for uid in b" ".join(part for part in data if part).split()}
    # `n:*` always matches the newest message, even below n.
    return sorted(uid for uid in uids if uid > after)


def _fetch(imap: imaplib.IMAP4, uid: int) -> bytes | None:
    status, data = imap.uid("FETCH", str(uid), "(BODY.PEEK[])")
    if status != "OK":
        raise MailboxError(f"UID FETCH {uid} failed: {data!r}")
    for item in data:
        if isinstance(item, tuple) and UID_RE.search(item[0]):
            return item[1]
    return None  # expunged meanwhile


def _cursor(config: MailboxSettings, uid_validity: int) -> MailboxCursor:
    cursor, _created = MailboxCursor.objects.get_or_create(mailbox=config.name[:300])
    if cursor.uid_validity != uid_validity:
        cursor.uid_validity, cursor.last_uid = uid_validity, 0
        MailboxCursor.objects.filter(pk=cursor.pk).update(uid_validity=uid_validity, last_uid=0)
    return cursor


def fetch_mail() -> dict[str, int]:
    """Poll the support mailbox once: every message after the cursor is stored (opened,
    threaded, duplicate or quarantined). Returns the counts; `{"skipped": 1}` when IMAP_URL is
    empty. Raises MailboxError when the server cannot be reached or refuses the login."""
    if not settings.IMAP_URL:
        return {"skipped": 1}
    config = mailbox_settings(settings.IMAP_URL)
    imap = _connect(config)
    counts: Counter[str] = Counter()
    try:
        cursor = _cursor(config, _uid_validity(imap))
        for uid in _new_uids(imap, cursor.last_uid):
            raw = _fetch(imap, uid)
            if raw is not None:
                received = email_in.email_receive(raw=raw, source=QuarantinedEmail.Source.IMAP)
                counts[received.outcome] += 1
            MailboxCursor.objects.filter(pk=cursor.pk, last_uid__lt=uid).update(
                last_uid=uid, polled_at=timezone.now()
            )
            counts["fetched"] += 1
        MailboxCursor.objects.filter(pk=cursor.pk).update(polled_at=timezone.now())
    except (OSError, imaplib.IMAP4.error) as exc:
        raise MailboxError(f"The connection to {config.name} failed: {exc}") from exc
    finally:
        _logout(imap)
    return {
        "fetched": counts["fetched"],
        **{
            outcome: counts[outcome]
            for outcome in (
                email_in.Outcome.OPENED,
                email_in.Outcome.THREADED,
                email_in.Outcome.DUPLICATE,
                email_in.Outcome.QUARANTINED,
            )
        },
    }
