"""The pure parts of speaking IMAP: arguments to send and answers to read. No I/O.

aioimaplib hands back a response as a list of lines (``bytes``) with each literal as a
``bytearray`` of its own; the parsers here read that shape.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Sequence

Lines = Sequence[bytes | bytearray]

_UIDVALIDITY = re.compile(rb"\[UIDVALIDITY (\d+)\]")
_UID = re.compile(rb"\bUID (\d+)")
_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)")
_BODY_LITERAL = re.compile(rb"BODY\[\] \{\d+\}$")
_LIST_DELIMITER = re.compile(rb'^\([^)]*\) (?:"((?:[^"\\]|\\.)*)"|NIL)')


def quoted(value: str) -> str:
    """An IMAP quoted string (RFC 3501 section 4.3)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def encode_folder(name: str) -> str:
    """A folder name in modified UTF-7 (RFC 3501 section 5.1.3), as servers expect it on the wire."""
    out: list[str] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            encoded = base64.b64encode("".join(run).encode("utf-16-be")).decode("ascii")
            out.append("&" + encoded.rstrip("=").replace("/", ",") + "-")
            run.clear()

    for char in name:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            out.append("&-" if char == "&" else char)
        else:
            run.append(char)
    flush()
    return "".join(out)


def server_folder(name: str, delimiter: str | None) -> str:
    """A configured folder path ('/' between levels) in the server's own hierarchy delimiter."""
    if delimiter and delimiter != "/":
        return name.replace("/", delimiter)
    return name


def folder_argument(name: str, delimiter: str | None) -> str:
    return quoted(encode_folder(server_folder(name, delimiter)))


def xoauth2_response(user: str, token: str) -> str:
    """The SASL XOAUTH2 initial client response: ``user=<u>^Aauth=Bearer <token>^A^A``, base64."""
    if "\x01" in user or "\x01" in token:
        raise ValueError("a user name or token with \\x01 cannot be sent by XOAUTH2")
    return base64.b64encode(f"user={user}\x01auth=Bearer {token}\x01\x01".encode()).decode("ascii")


def uid_set(uids: Iterable[int]) -> str:
    """A compact UID set: ``1:3,7,9:10``."""
    ordered = sorted(set(uids))
    if not ordered:
        raise ValueError("an empty UID set")
    parts: list[str] = []
    start = previous = ordered[0]
    for uid in [*ordered[1:], None]:
        if uid is not None and uid == previous + 1:
            previous = uid
            continue
        parts.append(str(start) if start == previous else f"{start}:{previous}")
        if uid is not None:
            start = previous = uid
    return ",".join(parts)


def _untagged(lines: Lines) -> list[bytes]:
    """The untagged lines of a completed command (the last line is the tagged status text)."""
    return [bytes(line) for line in lines[:-1] if isinstance(line, bytes)]


def uidvalidity(lines: Lines) -> int:
    """UIDVALIDITY from a SELECT answer; a server must send it (RFC 3501 section 6.3.1)."""
    for line in lines:
        if isinstance(line, bytes) and (match := _UIDVALIDITY.search(line)):
            return int(match.group(1))
    raise ValueError("SELECT answered without UIDVALIDITY")


def search_uids(lines: Lines) -> list[int]:
    """The UIDs of a ``UID SEARCH`` answer, ascending; unrelated untagged lines are skipped."""
    found: set[int] = set()
    for line in _untagged(lines):
        words = line.split()
        if words and words[0] == b"SEARCH":
            words = words[1:]
        if words and all(word.isdigit() for word in words):
            found.update(int(word) for word in words)
    return sorted(found)


def fetch_sizes(lines: Lines) -> dict[int, int]:
    """UID to RFC822.SIZE, from a ``UID FETCH <set> (RFC822.SIZE)`` answer."""
    sizes: dict[int, int] = {}
    for line in _untagged(lines):
        uid, size = _UID.search(line), _SIZE.search(line)
        if b" FETCH " in line and uid and size:
            sizes[int(uid.group(1))] = int(size.group(1))
    return sizes


def fetch_body(lines: Lines, uid: int) -> bytes | None:
    """The message bytes of ``uid`` in a ``UID FETCH <uid> (BODY.PEEK[])`` answer; None if absent.

    A server may put the UID before or after the literal, and may slip in unsolicited FETCH
    answers (flag changes) for other messages, so the literal is matched to its own UID.
    """
    for index, item in enumerate(lines):
        if not isinstance(item, bytearray) or index == 0:
            continue
        head = lines[index - 1]
        tail = lines[index + 1] if index + 1 < len(lines) else b""
        if not isinstance(head, bytes) or not _BODY_LITERAL.search(head):
            continue
        found = _UID.search(head) or (_UID.search(tail) if isinstance(tail, bytes) else None)
        if found and int(found.group(1)) == uid:
            return bytes(item)
    return None


def list_delimiter(lines: Lines) -> str | None:
    """The hierarchy delimiter from a ``LIST "" ""`` answer; None for a flat namespace."""
    for line in _untagged(lines):
        body = line[5:] if line.startswith(b"LIST ") else line
        match = _LIST_DELIMITER.match(body)
        if match:
            value = match.group(1)
            return value.decode().replace("\\\\", "\\").replace('\\"', '"') if value is not None else None
    return None


def announces_new_mail(push: Iterable[bytes | bytearray]) -> bool:
    """Whether lines the server pushed during IDLE say that messages arrived (``* <n> EXISTS``)."""
    return any(bytes(line).rstrip().endswith(b" EXISTS") for line in push)


def has_code(lines: Lines, code: bytes) -> bool:
    """Whether a response code such as ``[ALREADYEXISTS]`` is in the answer."""
    return any(isinstance(line, bytes) and b"[" + code + b"]" in line for line in lines)
