"""The IMAP poller (inquiries.mailbox.fetch_mail and `manage.py fetch_mail`) against a real
Dovecot server the test starts: a private instance on a free local port, its own config,
passwd-file login and a Maildir, stopped at teardown.

Dovecot comes from Debian's packages (`apt-get install dovecot-imapd`, done by .ci/run); without
/usr/sbin/dovecot these tests skip. Run as root, Dovecot refuses to run mail processes as root,
so the mailbox belongs to `nobody` and lives in a world-traversable temporary directory (pytest's
tmp_path is private to root).
"""

from __future__ import annotations

import getpass
import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from inquiries import mailbox
from inquiries.models import Inquiry, MailboxCursor, Message, QuarantinedEmail

pytestmark = pytest.mark.django_db

DOVECOT = "/usr/sbin/dovecot"
MAIL = Path(__file__).parent / "mail"
USER, PASSWORD = "support", "s3cret-pass"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _config(root: Path, port: int) -> str:
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        mail_uid, mail_gid = nobody.pw_uid, nobody.pw_gid
        internal_user, login_user = "dovecot", "dovenull"
        (root / "home").mkdir()
        os.chown(root / "home", mail_uid, mail_gid)
    else:
        mail_uid, mail_gid = os.getuid(), os.getgid()
        internal_user = login_user = getpass.getuser()
        (root / "home").mkdir()
    (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
    return f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {internal_user}
default_internal_group = {internal_user}
default_login_user = {login_user}
first_valid_uid = {mail_uid}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={mail_uid} gid={mail_gid} home={root}/home/%u
}}
mail_location = maildir:~/Maildir
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


def _wait_for(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            outputs = [
                path.read_text() for path in log.parent.glob("dovecot.*") if path.suffix != ".conf"
            ]
            pytest.fail(f"dovecot exited: {' '.join(outputs)}")
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    pytest.fail("dovecot did not start listening within 15 s")


@pytest.fixture
def dovecot(settings):
    if not os.path.exists(DOVECOT):
        pytest.skip(
            f"{DOVECOT} is missing: install Debian's dovecot-imapd (.ci/run does) to run the "
            "IMAP poller against a real server"
        )
    root = Path(tempfile.mkdtemp(prefix="fo-dovecot-"))
    root.chmod(0o755)
    port = free_port()
    conf = root / "dovecot.conf"
    conf.write_text(_config(root, port))
    output = (root / "dovecot.out").open("wb")
    process = subprocess.Popen(
        [DOVECOT, "-F", "-c", str(conf)], stdout=output, stderr=subprocess.STDOUT
    )
    try:
        _wait_for(port, process, root / "dovecot.log")
        settings.IMAP_URL = f"imap://{USER}:{PASSWORD}@127.0.0.1:{port}/INBOX"
        settings.IMAP_TIMEOUT = 10
        settings.FRONTOFFICE_SUPPORT_EMAIL = "support@frontoffice.example"
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        output.close()
        shutil.rmtree(root, ignore_errors=True)


def imap_session(port: int) -> imaplib.IMAP4:
    session = imaplib.IMAP4("127.0.0.1", port, timeout=10)
    session.login(USER, PASSWORD)
    return session


def deliver(port: int, *raws: bytes, folder: str = "INBOX") -> None:
    session = imap_session(port)
    try:
        for raw in raws:
            status, _data = session.append(folder, None, None, raw)
            assert status == "OK"
    finally:
        session.logout()


def fixture(name: str) -> bytes:
    return (MAIL / name).read_bytes()


def reply_to(message_id: str) -> bytes:
    return (
        b"From: Hanako Yamada <hanako.yamada@kaisha.co.jp>\r\n"
        b"To: support@frontoffice.example\r\n"
        b"Subject: Re: invoice\r\n"
        b"Message-ID: <reply.1@kaisha.co.jp>\r\n"
        b"In-Reply-To: " + message_id.encode() + b"\r\n"
        b"\r\n"
        b"One more thing: the postcode changed too.\r\n"
    )


def counts(**given: int) -> dict[str, int]:
    return {"fetched": 0, "opened": 0, "threaded": 0, "duplicate": 0, "quarantined": 0, **given}


def test_it_reads_new_mail_into_inquiries_and_advances_the_cursor(dovecot):
    deliver(dovecot, fixture("utf8_8bit.eml"), fixture("iso2022jp.eml"))

    result = mailbox.fetch_mail()

    assert result == counts(fetched=2, opened=2)
    assert sorted(Inquiry.objects.values_list("subject", flat=True)) == [
        "ログインできません",
        "請求書の宛名変更について",
    ]
    cursor = MailboxCursor.objects.get()
    assert (cursor.mailbox, cursor.last_uid) == (f"{USER}@127.0.0.1:{dovecot}/INBOX", 2)
    assert cursor.uid_validity > 0
    assert cursor.polled_at is not None


def test_it_reads_only_the_mail_that_arrived_since_the_last_poll(dovecot):
    deliver(dovecot, fixture("utf8_8bit.eml"))
    mailbox.fetch_mail()
    deliver(dovecot, reply_to("<20260303091240.4411@kaisha.co.jp>"))

    result = mailbox.fetch_mail()

    assert result == counts(fetched=1, threaded=1)
    inquiry = Inquiry.objects.get()
    assert inquiry.messages.count() == 2
    assert MailboxCursor.objects.get().last_uid == 2
    assert mailbox.fetch_mail() == counts()


def test_it_stores_nothing_twice_when_a_poll_reads_mail_again(dovecot):
    deliver(dovecot, fixture("utf8_8bit.eml"), fixture("shift_jis_qp.eml"))
    mailbox.fetch_mail()
    MailboxCursor.objects.update(last_uid=0)  # as if the poller died before saving its place

    result = mailbox.fetch_mail()

    assert result == counts(fetched=2, duplicate=2)
    assert (Inquiry.objects.count(), Message.objects.count()) == (2, 2)


def test_it_reads_the_mailbox_again_when_uidvalidity_changes(dovecot, settings):
    session = imap_session(dovecot)
    session.create("Support")
    session.logout()
    settings.IMAP_URL = settings.IMAP_URL.replace("/INBOX", "/Support")
    deliver(dovecot, fixture("utf8_8bit.eml"), fixture("iso2022jp.eml"), folder="Support")
    mailbox.fetch_mail()
    before = MailboxCursor.objects.get()
    # The folder is deleted and created again: new UIDVALIDITY, UIDs from 1 again.
    session = imap_session(dovecot)
    session.delete("Support")
    time.sleep(1.1)  # Dovecot derives UIDVALIDITY from the clock
    session.create("Support")
    session.logout()
    deliver(dovecot, fixture("iso2022jp.eml"), fixture("html_base64.eml"), folder="Support")

    result = mailbox.fetch_mail()

    assert result == counts(fetched=2, opened=1, duplicate=1)
    after = MailboxCursor.objects.get()
    assert after.uid_validity != before.uid_validity
    assert (before.last_uid, after.last_uid) == (2, 2)
    assert Inquiry.objects.count() == 3


def test_it_quarantines_unreadable_mail_from_the_mailbox(dovecot):
    deliver(dovecot, fixture("malformed_multipart.eml"))

    result = mailbox.fetch_mail()

    assert result == counts(fetched=1, quarantined=1)
    item = QuarantinedEmail.objects.get()
    assert (item.source, item.error) == ("imap", "Malformed MIME: StartBoundaryNotFoundDefect.")
    assert bytes(item.raw) == fixture("malformed_multipart.eml")
    assert MailboxCursor.objects.get().last_uid == 1


def test_it_prints_the_counts_from_the_command(dovecot, capsys):
    deliver(dovecot, fixture("utf8_8bit.eml"))

    call_command("fetch_mail")

    assert capsys.readouterr().out.strip() == (
        "fetched 1, opened 1, threaded 0, duplicate 0, quarantined 0"
    )


def test_it_fails_the_command_clearly_when_the_login_is_refused(dovecot, settings):
    settings.IMAP_URL = f"imap://{USER}:wrong@127.0.0.1:{dovecot}/INBOX"

    with pytest.raises(CommandError, match=r"^Login or folder refused for support@127\.0\.0\.1"):
        call_command("fetch_mail")

    assert MailboxCursor.objects.count() == 0


def test_it_fails_the_command_clearly_when_the_server_is_unreachable(settings):
    port = free_port()
    settings.IMAP_URL = f"imap://{USER}:{PASSWORD}@127.0.0.1:{port}/INBOX"

    with pytest.raises(CommandError, match=rf"^Cannot reach 127\.0\.0\.1:{port}: "):
        call_command("fetch_mail")


def test_it_does_nothing_without_an_imap_url(settings, capsys):
    settings.IMAP_URL = ""

    assert mailbox.fetch_mail() == {"skipped": 1}
    call_command("fetch_mail")
    assert capsys.readouterr().out.strip() == "IMAP_URL is not set: nothing to poll."


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("pop3://u:p@host/INBOX", "IMAP_URL must start with imap:// or imaps://, not 'pop3'."),
        ("imap://host/INBOX", "IMAP_URL needs a user and a host: imap://user:password@host/INBOX."),
    ],
)
def test_it_explains_a_malformed_imap_url(settings, url, error):
    settings.IMAP_URL = url

    with pytest.raises(CommandError) as caught:
        call_command("fetch_mail")

    assert str(caught.value) == error


def test_it_reads_user_password_port_and_folder_from_the_url():
    config = mailbox.mailbox_settings(
        "imaps://support%40example.com:p%2Fss@mail.example.com/Sup%20port"
    )

    assert config == mailbox.MailboxSettings(
        secure=True,
        host="mail.example.com",
        port=993,
        user="support@example.com",
        password="p/ss",
        folder="Sup port",
    )
