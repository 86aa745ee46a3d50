"""The SMTP/LMTP channel's pure parts: listen addresses, TLS settings, replies."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.intake.channels import smtp
from services.intake.channels.smtp_server import parse_listen, tls_context
from services.intake.settings import Settings


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("127.0.0.1:2525", ("127.0.0.1", 2525)),
        (" 0.0.0.0:25 ", ("0.0.0.0", 25)),
        (":24", (None, 24)),
        ("[::1]:2424", ("::1", 2424)),
        ("localhost:0", ("localhost", 0)),
    ],
)
def test_listen_addresses(value: str, expected: tuple[str | None, int]) -> None:
    assert parse_listen(value) == expected


@pytest.mark.parametrize("value", ["2525", "host:", "host:smtp", "host:70000", ""])
def test_listen_addresses_that_are_not(value: str) -> None:
    with pytest.raises(ValueError, match="host:port"):
        parse_listen(value)


def test_starttls_needs_both_certificate_and_key(tmp_path: Path) -> None:
    assert tls_context(Settings(data_dir=tmp_path)) is None
    with pytest.raises(ValueError, match="both"):
        tls_context(Settings(data_dir=tmp_path, smtp_tls_cert=tmp_path / "cert.pem"))


def test_the_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLSAK_INTAKE_SMTP_LISTEN", "127.0.0.1:2525")
    monkeypatch.setenv("ALLSAK_INTAKE_LMTP_LISTEN", "127.0.0.1:2424")
    settings = Settings()
    assert (settings.smtp_listen, settings.lmtp_listen) == ("127.0.0.1:2525", "127.0.0.1:2424")


def test_lmtp_answers_name_each_recipient() -> None:
    handler = smtp.IntakeHandler(None, None, None, 1.0, None, per_recipient=True)  # type: ignore[arg-type]
    assert handler._answer(smtp.STORE_FAILED, ["a@x.no", "b@x.no"]).split("\r\n") == [
        "451 4.3.0 temporarily unable to store, try again later <a@x.no>",
        "451 4.3.0 temporarily unable to store, try again later <b@x.no>",
    ]
    handler.per_recipient = False
    assert handler._answer(smtp.TOO_LARGE, ["a@x.no", "b@x.no"]) == "552 5.3.4 message too large"
