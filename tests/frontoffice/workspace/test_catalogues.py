"""The Japanese catalogues are complete and committed compiled: every message translated, none
left fuzzy, and each .mo what msgfmt makes of its .po (Django reads only the .mo)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
CATALOGUES = [
    ROOT / app / "locale" / "ja" / "LC_MESSAGES" / "django.po"
    for app in (
        "frontoffice",
        "accounts",
        "pipeline",
        "inquiries",
    )
]

pytestmark = pytest.mark.skipif(
    shutil.which("msgfmt") is None, reason="msgfmt is missing (apt-get install gettext)"
)


@pytest.mark.parametrize("po", CATALOGUES, ids=lambda path: path.parts[-5])
def test_it_translates_every_message_and_commits_the_compiled_catalogue(po, tmp_path):
    compiled = tmp_path / "django.mo"

    result = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", str(compiled), str(po)],
        capture_output=True,
        text=True,
        check=False,
        env={"LC_ALL": "C"},
    )

    assert result.returncode == 0, result.stderr
    assert "untranslated" not in result.stderr, result.stderr
    assert "fuzzy" not in result.stderr, result.stderr
    assert compiled.read_bytes() == po.with_suffix(".mo").read_bytes()
