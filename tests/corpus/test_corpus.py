"""A corpus of real-world-like mail (tests/corpus/mail) and CPython's own test messages: each
gives exactly one outcome, parsed or quarantined with a reason from the closed set, never an
exception; and the same through the intake app end to end, on SQLite."""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from services.intake.app import create_app
from services.intake.domain import Kind, Parsed, QuarantineReason, Rejected, parse_message
from services.intake.settings import Settings
from shared.runtime import Runtime
from shared.testing import running
from tests.corpus.outcomes import check_outcome

MAIL = Path(__file__).parent / "mail"


def cpython_email_data() -> Path | None:
    """Lib/test/test_email/data of this Python, else of another Python on this machine."""
    try:
        import test.test_email as package  # the test package is optional in some builds
    except ImportError:
        package = None
    if package is not None and package.__file__ is not None:
        found = Path(package.__file__).parent / "data"
        if found.is_dir():
            return found
    for root in (Path(sys.base_prefix).parent, Path("/usr/lib"), Path("/usr/local/lib")):
        for found in sorted(root.glob("*/lib/python3*/test/test_email/data")) + sorted(
            root.glob("python3*/test/test_email/data")
        ):
            return found
    return None


CPYTHON = cpython_email_data()
OURS = sorted(MAIL.glob("*.eml"))
THEIRS = sorted(path for path in CPYTHON.iterdir() if path.is_file()) if CPYTHON else []
ALL = OURS + THEIRS


def test_the_corpus_is_there() -> None:
    assert len(OURS) >= 25
    assert CPYTHON is not None, "no Lib/test/test_email/data in any Python on this machine"
    assert len([p for p in THEIRS if p.name.startswith("msg_")]) >= 40


@pytest.mark.parametrize("path", ALL, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_each_message_gives_one_sound_outcome(path: Path) -> None:
    check_outcome(parse_message(path.read_bytes()))


def parse(name: str) -> Parsed:
    result = parse_message((MAIL / name).read_bytes())
    assert isinstance(result, Parsed), result
    return result


def kinds(result: Parsed) -> list[tuple[str, str | None]]:
    return [(part.kind.value, part.filename) for part in result.parts]


REJECTED = {
    "ambiguous_sender.eml": QuarantineReason.AMBIGUOUS_SENDER,
    "cve_2023_27043.eml": QuarantineReason.NO_SENDER,
    "junk_before_headers.eml": QuarantineReason.PARSE_ERROR,
}

EXPECTATIONS: dict[str, Callable[[Parsed], Any]] = {
    "outlook_html_cp1252.eml": lambda r: (
        r.sender.name == "Øyvind Ærø"
        and r.subject == "SV: Skriver på 3. etasje"
        and "«blanke» ark –" in r.text_body
        and (r.reply_text or "").endswith("Med vennlig hilsen\nØyvind Ærø")
        and r.html is not None
        and b"<style" not in r.html
    ),
    "iso_declared_but_cp1252.eml": lambda r: r.text_body.startswith("Fakturaen på “500 €” er feil –"),
    "gmail_reply_no.eml": lambda r: r.reply_text == "Takk, nå virker det!\n\nHilsen\nKari",
    "gmail_inline_forward.eml": lambda r: r.reply_text == "Kan dere hjelpe Per med dette?",
    "apple_mail_inline_image.eml": lambda r: (
        kinds(r) == [("inline_image", "Skjermbilde.png")]
        and f"/api/v1/attachments/{r.parts[0].sha256}".encode() in (r.html or b"")
        and b"onerror" not in (r.html or b"")
    ),
    "iphone_mixed.eml": lambda r: (
        r.text_body == "Skjermen på telefonen er knust, se bilde.\n\nSendt fra min iPhone"
        and kinds(r) == [("file", "IMG_0001.jpeg")]
    ),
    "forward_as_attachment.eml": lambda r: (
        kinds(r) == [("forwarded_message", "Kontrakt.eml")]
        and "Referanse K-7781" in r.forwarded_text
        and "Subject: Kontrakt for løsning" in r.forwarded_text
    ),
    "forwarded_chain.eml": lambda r: (
        "Se under." in r.forwarded_text and "Serveren i kjelleren piper." in r.forwarded_text
    ),
    "autoreply_fravaersmelding.eml": lambda r: r.auto_reason == "Auto-Submitted: auto-replied",
    "autoreply_automatisk_svar.eml": lambda r: r.auto_reason == "Subject: Automatisk svar",
    "mailing_list.eml": lambda r: r.auto_reason == "Precedence: list" and "mailing list" in r.text_body,
    "newsletter_html.eml": lambda r: (
        r.auto_reason == "Precedence: bulk"
        and b"track.leverandor.no" not in (r.html or b"")
        and b"javascript" not in (r.html or b"")
        and "Månedens nyheter" in r.text_body
    ),
    "bounce_postfix_dsn.eml": lambda r: (
        r.bounce is not None
        and r.bounce.original_message_id == "<case-0100.ack@firma.no>"
        and r.bounce.recipients == ["ukjent@kunde.no"]
        and (r.bounce.status, r.bounce.permanent) == ("5.1.1", True)
    ),
    "bounce_exim.eml": lambda r: r.bounce is not None and r.bounce.recipients == ["borte@kunde.no"],
    "bounce_qmail.eml": lambda r: r.bounce is not None and r.bounce.recipients == ["sluttet@kunde.no"],
    "bounce_exchange_no.eml": lambda r: (
        r.bounce is not None and r.bounce.original_message_id == "<case-0103.reply@firma.no>"
    ),
    "bounce_gmail_delay.eml": lambda r: (
        r.bounce is not None and (r.bounce.action, r.bounce.permanent) == ("delayed", False)
    ),
    "bounce_sendmail.eml": lambda r: r.bounce is not None and r.bounce.status == "5.2.2",
    "calendar_invite.eml": lambda r: (
        kinds(r) == [("calendar", "invite.ics")] and "Møterom Fjord" in r.text_body
    ),
    "mbox_from_line.eml": lambda r: r.sender.email == "kari@kunde.no",
    "missing_from_reply_to.eml": lambda r: r.sender.email == "svar@kunde.no",
    "address_comment.eml": lambda r: r.sender.email == "kari@kunde.no",
    "quoted_local_part.eml": lambda r: r.sender.email == '"kari nordmann"@kunde.no',
    "winmail_dat.eml": lambda r: (
        kinds(r) == [("tnef", "winmail.dat"), ("file", "rapport.txt"), ("file", "Søknad.pdf")]
        and r.text_body == "Rapporten ligger vedlagt. Hilsen Bruker"
    ),
    "uuencoded.eml": lambda r: kinds(r) == [("file", "logg.txt")] and "begin 644" not in r.text_body,
    "rfc2231_filenames.eml": lambda r: (
        [p.filename for p in r.parts] == ["Søknad.pdf", "Blåbær.pdf", "Økonomi 2026.xlsx", "Rapport øst.txt"]
        and r.subject == "Vedlegg med æøå"
    ),
    "undeclared_8bit.eml": lambda r: (
        r.subject == "Blåbær og rømme" and r.text_body == "Jeg får ikke tilgang til møterommet. Hilsen Åse"
    ),
    "utf8_declared_latin1.eml": lambda r: (
        r.text_body == "Hei, jeg får ikke logget på lønnssystemet. Mvh Øyvind"
    ),
    "outlook_cid_signature.eml": lambda r: (
        [p.kind for p in r.parts] == [Kind.INLINE_IMAGE] and b'alt="Logo"' in (r.html or b"")
    ),
    "smime_signed.eml": lambda r: kinds(r) == [("file", "smime.p7s")],
    "outlook_reply_en.eml": lambda r: r.reply_text == "It works now, thanks.\n\nJohn",
    "koi8r_declared.eml": lambda r: r.text_body == "Принтер не работает." and r.subject == "Привет",
    "shift_jis_declared.eml": lambda r: r.text_body == "プリンターが動きません。",
}


@pytest.mark.parametrize("name", sorted(EXPECTATIONS))
def test_what_the_corpus_messages_say(name: str) -> None:
    assert EXPECTATIONS[name](parse(name))


@pytest.mark.parametrize("name", sorted(REJECTED))
def test_corpus_messages_that_wait_for_a_person(name: str) -> None:
    result = parse_message((MAIL / name).read_bytes())
    assert isinstance(result, Rejected) and result.reason is REJECTED[name]


async def test_the_corpus_end_to_end_through_the_intake_app(tmp_path: Path) -> None:
    runtime = Runtime.embedded(data_dir=tmp_path)
    app = create_app(Settings(data_dir=tmp_path), runtime)
    seen: set[str] = set()
    async with runtime, running(app) as client:
        for path in ALL:
            raw = path.read_bytes()
            if not raw:
                continue  # the API refuses an empty body (422) before storing anything
            expected = parse_message(raw)
            response = await client.post(
                "/api/v1/intake/mail", content=raw, headers={"Content-Type": "message/rfc822"}
            )
            assert response.status_code == 202, (path.name, response.text)
            answer = response.json()
            digest = hashlib.sha256(raw).hexdigest()
            assert answer["duplicate"] is (digest in seen), path.name
            seen.add(digest)
            if isinstance(expected, Rejected):
                assert (answer["status"], answer["reason"]) == ("quarantined", expected.reason.value), (
                    path.name
                )
            else:
                assert answer["status"] in ("received", "dropped"), (path.name, answer)
            shown = (await client.get(f"/api/v1/intake/messages/{answer['id']}")).json()
            assert shown["state"] == answer["status"], (path.name, shown)
            if answer["status"] == "quarantined":
                assert shown["quarantine"]["reason"] == answer["reason"], path.name
            if isinstance(expected, Parsed):  # stored before the event named them
                for digest in [part.sha256 for part in expected.parts] + [expected.html_sha256 or ""]:
                    assert not digest or await runtime.blobs.exists(digest), (path.name, digest)
