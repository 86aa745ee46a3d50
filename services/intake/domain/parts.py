"""A part of a message that is kept beside its text: bytes to store and what to call them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property

DEFAULT_TYPE = "application/octet-stream"
# Our own table: mimetypes reads the system's files on first use, and its built-in one lacks
# the office formats. Only for parts that come without a type (TNEF, uuencode).
_TYPES = {
    "pdf": "application/pdf", "doc": "application/msword", "rtf": "application/rtf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xls": "application/vnd.ms-excel", "ppt": "application/vnd.ms-powerpoint",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "odt": "application/vnd.oasis.opendocument.text", "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "odp": "application/vnd.oasis.opendocument.presentation", "txt": "text/plain", "log": "text/plain",
    "csv": "text/csv", "htm": "text/html", "html": "text/html", "xml": "application/xml",
    "json": "application/json", "ics": "text/calendar", "vcf": "text/vcard", "eml": "message/rfc822",
    "msg": "application/vnd.ms-outlook", "zip": "application/zip", "7z": "application/x-7z-compressed",
    "rar": "application/vnd.rar", "gz": "application/gzip", "tar": "application/x-tar",
    "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif", "bmp": "image/bmp",
    "tif": "image/tiff", "tiff": "image/tiff", "webp": "image/webp", "heic": "image/heic",
    "svg": "image/svg+xml", "mp3": "audio/mpeg", "wav": "audio/wav", "mp4": "video/mp4",
    "mov": "video/quicktime",
}  # fmt: skip


class Kind(StrEnum):
    """What a kept part is to the message; the names travel in ``intake.Attachment.kind``."""

    FILE = "file"
    INLINE_IMAGE = "inline_image"
    FORWARDED_MESSAGE = "forwarded_message"
    CALENDAR = "calendar"
    ALTERNATIVE = "alternative"
    TNEF = "tnef"


@dataclass(frozen=True)
class Part:
    """Decoded bytes of one kept part; the blob store names them by ``sha256``."""

    data: bytes
    content_type: str
    kind: Kind = Kind.FILE
    filename: str | None = None
    disposition: str = "attachment"
    content_id: str | None = None

    @property
    def size(self) -> int:
        return len(self.data)

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def guess_type(filename: str | None) -> str:
    """The media type a file name suggests; octet-stream when it suggests none."""
    if not filename:
        return DEFAULT_TYPE
    stem, dot, extension = filename.rpartition(".")
    return _TYPES.get(extension.lower(), DEFAULT_TYPE) if dot and stem else DEFAULT_TYPE
