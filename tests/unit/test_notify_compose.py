from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from services.notify import compose
from services.notify.senders import DeliveryError, FolderSender, SmtpConfig, classify
from shared.events.cases import CaseCreated, Person

NOW = datetime(2025, 3, 4, 8, 30, tzinfo=UTC)
SENDERS = {"HR": "HR-avdelingen <hr@example.no>"}
DEFAULT = "Allsak <support@allsak.local>"


def case(**changes: Any) -> CaseCreated:
    fields: dict[str, Any] = dict(
        number="10023",
        subject="Skriveren virker ikke",
        status="new",
        type="incident",
        queue="Servicedesk",
        priority="normal",
        requester=Person(email="kari@example.no", name="Kari Nordmann"),
        channel="mail",
        created_at=NOW,
        source_message_id="<orig-1@mail.example.no>",
        source_references=["<root@mail.example.no>", "<prev@mail.example.no>"],
    )
    fields.update(changes)
    return CaseCreated(**fields)


def ack(event: CaseCreated, *, tag: str = "Sak") -> compose.Composed:
    sender = compose.sender_for(event.queue, SENDERS, DEFAULT)
    return compose.compose_acknowledgement(event, tag=tag, sender=sender, domain="allsak.local", now=NOW)


def parsed(composed: compose.Composed) -> EmailMessage:
    message = message_from_bytes(composed.raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_message_id_is_stable_per_kind_and_case() -> None:
    first = compose.message_id("acknowledgement", "10023", domain="allsak.local")
    assert first == compose.message_id("acknowledgement", "10023", domain="allsak.local")
    assert first.startswith("<ack.10023.") and first.endswith("@allsak.local>")
    assert first != compose.message_id("acknowledgement", "10024", domain="allsak.local")
    assert first != compose.message_id("reply", "10023", domain="allsak.local")
    assert ack(case()).rfc_message_id == ack(case(subject="other")).rfc_message_id == first


def test_acknowledgement_headers() -> None:
    message = parsed(ack(case()))
    assert message["Subject"] == "[Sak#10023] Skriveren virker ikke"
    assert message["From"] == DEFAULT
    assert message["To"] == "Kari Nordmann <kari@example.no>"
    assert message["Message-ID"] == compose.message_id("acknowledgement", "10023", domain="allsak.local")
    assert message["In-Reply-To"] == "<orig-1@mail.example.no>"
    assert message["References"].split() == [
        "<root@mail.example.no>",
        "<prev@mail.example.no>",
        "<orig-1@mail.example.no>",
    ]
    assert message["Auto-Submitted"] == "auto-replied"
    assert message["X-Auto-Response-Suppress"] == "All"
    assert message["Precedence"] is None
    assert message["MIME-Version"] == "1.0"
    assert message["Date"].datetime == NOW
    assert message.get_content_type() == "text/plain"
    assert message.get_content_charset() == "utf-8"


def test_raw_uses_crlf_and_ascii_only() -> None:
    raw = ack(case(subject="Æøå på kontoret")).raw
    raw.decode("ascii")
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")


def test_from_follows_the_queue() -> None:
    composed = ack(case(queue="HR"))
    assert parsed(composed)["From"] == "HR-avdelingen <hr@example.no>"
    assert composed.sender == "hr@example.no"
    assert composed.recipients == ["kari@example.no"]


def test_subject_tag_from_setting_and_not_doubled() -> None:
    assert parsed(ack(case(), tag="Case"))["Subject"] == "[Case#10023] Skriveren virker ikke"
    again = case(subject="Re: [Sak#10023] Skriveren virker ikke")
    assert parsed(ack(again))["Subject"] == "Re: [Sak#10023] Skriveren virker ikke"


def test_empty_and_multiline_subjects() -> None:
    assert parsed(ack(case(subject="")))["Subject"] == "[Sak#10023] (uten emne / no subject)"
    assert (
        parsed(ack(case(subject="a\r\nBcc: x@evil.example")))["Subject"]
        == "[Sak#10023] a Bcc: x@evil.example"
    )


def test_norwegian_letters_round_trip() -> None:
    event = case(
        subject="Påloggingsfeil – blåskjerm på kjøkkenet ÆØÅ",
        requester=Person(email="bjorn@example.no", name="Bjørn Ødegård, Økonomi"),
    )
    composed = ack(event)
    assert b"\xc3" not in composed.raw  # encoded, not raw 8-bit
    message = parsed(composed)
    assert message["Subject"] == "[Sak#10023] Påloggingsfeil – blåskjerm på kjøkkenet ÆØÅ"
    assert message["To"].addresses[0].display_name == "Bjørn Ødegård, Økonomi"
    assert message["To"].addresses[0].addr_spec == "bjorn@example.no"
    body = message.get_content()
    assert "Hei Bjørn Ødegård, Økonomi," in body
    assert "Emne: Påloggingsfeil – blåskjerm på kjøkkenet ÆØÅ" in body


def test_body_is_bokmal_then_english() -> None:
    body = parsed(ack(case())).get_content()
    norwegian = body.index("Vi har mottatt henvendelsen din og registrert den som sak 10023")
    english = body.index("We have received your request and registered it as case 10023")
    assert norwegian < english
    assert "[Sak#10023]" in body


def test_no_threading_headers_without_a_source_message() -> None:
    message = parsed(ack(case(source_message_id=None, source_references=[])))
    assert message["In-Reply-To"] is None
    assert message["References"] is None


def test_references_normalised_deduplicated_and_capped() -> None:
    assert compose.references(["a@x", "<a@x>", "not an id", ""], "b@x") == ["<a@x>", "<b@x>"]
    chain = compose.references([f"<r{i}@x>" for i in range(30)], "<last@x>")
    assert len(chain) == compose.MAX_REFERENCES
    assert chain[0] == "<r0@x>" and chain[-1] == "<last@x>"


def test_idn_domain_becomes_punycode() -> None:
    composed = ack(case(requester=Person(email="ola@blåbær.no")))
    assert composed.recipients == ["ola@xn--blbr-roah.no"]


@pytest.mark.parametrize(
    ("changes", "acknowledged"),
    [
        ({}, True),
        ({"suppress_auto_reply": True}, False),
        ({"channel": "portal"}, False),
        ({"channel": "phone"}, False),
        ({"requester": Person(email="MAILER-DAEMON@example.no")}, False),
        ({"requester": Person(email="no-reply@vendor.example")}, False),
        ({"requester": Person(email="owner-list@lists.example")}, False),
        ({"requester": Person(email="list-request@lists.example")}, False),
        ({"requester": Person(email="Support@allsak.local")}, False),
        ({"requester": Person(email="hr@example.no")}, False),
        ({"requester": Person(email="not an address")}, False),
        ({"requester": Person(email="a@b.no, c@d.no")}, False),
    ],
)
def test_should_acknowledge(changes: dict[str, Any], acknowledged: bool) -> None:
    own = ["support@allsak.local", "hr@example.no"]
    assert compose.should_acknowledge(case(**changes), own_addresses=own) is acknowledged


def test_refusal_says_why() -> None:
    reason = compose.acknowledgement_refusal(case(suppress_auto_reply=True))
    assert reason is not None and "auto-submitted" in reason


def test_retry_delay_doubles_and_is_capped() -> None:
    delays = [compose.retry_delay(n, base_seconds=5, max_seconds=60) for n in (1, 2, 3, 4, 5, 2000)]
    assert delays == [timedelta(seconds=s) for s in (5, 10, 20, 40, 60, 60)]


def test_after_failure() -> None:
    assert compose.after_failure(attempts=1, max_attempts=10, permanent=False) == "retry"
    assert compose.after_failure(attempts=1, max_attempts=10, permanent=True) == "failed"
    assert compose.after_failure(attempts=10, max_attempts=10, permanent=False) == "failed"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://127.0.0.1:2525", SmtpConfig("127.0.0.1", 2525)),
        ("smtp://mail.example.no", SmtpConfig("mail.example.no", 25)),
        (
            "smtps://user%40x:p%3Ass@mail.example.no:465",
            SmtpConfig("mail.example.no", 465, "user@x", "p:ss", use_tls=True),
        ),
        ("smtp+starttls://u:p@mail.example.no", SmtpConfig("mail.example.no", 587, "u", "p", start_tls=True)),
    ],
)
def test_smtp_url(url: str, expected: SmtpConfig) -> None:
    assert SmtpConfig.from_url(url) == expected


def test_smtp_url_rejects_other_schemes_and_hides_password() -> None:
    with pytest.raises(ValueError):
        SmtpConfig.from_url("http://mail.example.no")
    assert "secret" not in repr(SmtpConfig.from_url("smtps://u:secret@h"))


def test_classify_smtp_errors() -> None:
    import aiosmtplib

    def is_permanent(exc: BaseException) -> bool:
        error = classify(exc)
        assert isinstance(error, DeliveryError)
        return error.permanent

    assert is_permanent(aiosmtplib.SMTPDataError(550, "no such user"))
    assert not is_permanent(aiosmtplib.SMTPDataError(451, "try later"))
    assert is_permanent(aiosmtplib.SMTPSenderRefused(553, "no", "a@b"))
    refused = aiosmtplib.SMTPRecipientRefused(550, "unknown", "x@y")
    assert is_permanent(aiosmtplib.SMTPRecipientsRefused([refused]))
    later = aiosmtplib.SMTPRecipientRefused(450, "busy", "z@y")
    assert not is_permanent(aiosmtplib.SMTPRecipientsRefused([refused, later]))
    assert not is_permanent(aiosmtplib.SMTPAuthenticationError(535, "bad credentials"))
    assert not is_permanent(aiosmtplib.SMTPConnectError("refused"))
    assert not is_permanent(ConnectionRefusedError())


def test_mail_file_name_is_safe() -> None:
    sender = FolderSender(Path("/x"))
    assert sender.path_for("<ack.10023.ab12@allsak.local>").name == "ack.10023.ab12@allsak.local.eml"
    assert sender.path_for("<../../etc/passwd@x>").parent == sender.directory
    assert "/" not in sender.path_for("<a/b@x>").name


def test_settings_from_env_and_their_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    from services.notify.settings import Settings

    monkeypatch.setenv("ALLSAK_CASE_TAG", "Case")
    monkeypatch.setenv("ALLSAK_QUEUE_SENDERS", '{"HR": "HR <hr@example.no>"}')
    monkeypatch.setenv("ALLSAK_SMTP_URL", "smtps://u:secret@mail.example.no")
    settings = Settings()
    assert settings.case_tag == "Case"
    assert settings.queue_senders == {"HR": "HR <hr@example.no>"}
    assert settings.smtp_url is not None and "secret" not in repr(settings)
    invalid: list[dict[str, Any]] = [
        {"smtp_url": "http://u:secret@x"},
        {"default_sender": "nobody"},
        {"message_id_domain": "a b"},
    ]
    for bad in invalid:
        with pytest.raises(ValidationError) as caught:
            Settings(**bad)
        assert "secret" not in str(caught.value)
