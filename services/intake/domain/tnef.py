"""winmail.dat (application/ms-tnef): Outlook's wrapping of attachments and a rich body.

tnefparse does the decoding; what it finds becomes ordinary parts and body text, and the
original winmail.dat is kept beside them in case something in it was not understood.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tnefparse.tnef import TNEF

from services.intake.domain.charsets import decode_bytes
from services.intake.domain.params import clean_filename
from services.intake.domain.parts import Kind, Part, guess_type

TNEF_TYPES = frozenset({"application/ms-tnef", "application/vnd.ms-tnef"})


@dataclass(frozen=True)
class TnefContent:
    parts: list[Part] = field(default_factory=list)
    text: str | None = None
    html: str | None = None


def is_tnef(content_type: str, filename: str | None) -> bool:
    return content_type in TNEF_TYPES or (filename or "").lower() == "winmail.dat"


def read_tnef(data: bytes, *, limit: int) -> TnefContent | None:
    """Attachments (at most ``limit``) and body of a TNEF stream; None when it is not one."""
    try:
        tnef = TNEF(data, do_checksum=False)
    except Exception:  # tnefparse raises whatever its struct reads hit on a damaged stream
        return None
    codepage = tnef.codepage or "cp1252"
    parts: list[Part] = []
    for attachment in tnef.attachments[:limit]:
        payload = attachment.data
        if not isinstance(payload, bytes) or not payload:
            continue
        name = _filename(attachment, codepage)
        parts.append(Part(data=payload, content_type=guess_type(name), kind=Kind.FILE, filename=name))
    return TnefContent(parts=parts, text=_text(tnef.body, codepage), html=_text(tnef.htmlbody, codepage))


def _filename(attachment: object, codepage: str) -> str | None:
    try:
        name = attachment.long_filename()  # type: ignore[attr-defined]
    except UnicodeDecodeError:  # tnefparse reads 8-bit titles as UTF-8; they are in the code page
        name = getattr(attachment, "_name", None)
    except Exception:
        name = None
    if isinstance(name, bytes):
        name = decode_bytes(name.rstrip(b"\x00"), codepage)
    return clean_filename(name.rstrip("\x00")) if isinstance(name, str) else None


def _text(body: object, codepage: str) -> str | None:
    if isinstance(body, bytes):
        body = decode_bytes(body.rstrip(b"\x00"), codepage)
    if isinstance(body, str) and body.strip("\x00 \r\n"):
        return body.rstrip("\x00")
    return None


def original(data: bytes, filename: str | None) -> Part:
    """The winmail.dat itself, kept as it came."""
    return Part(
        data=data, content_type="application/ms-tnef", kind=Kind.TNEF, filename=filename or "winmail.dat"
    )
