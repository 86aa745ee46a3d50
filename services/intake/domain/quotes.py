"""The new text of a reply, without the quoted message below it, for the case timeline.

mail-parser-reply knows the English and German quote headers ("On ... wrote:", "From: ...
Sent: ...", "-----Original Message-----") but has no Norwegian; its Danish rules would take a
travel request's "Fra: Oslo / Til: Bergen" for a header. Nordic headers are found here first,
with stricter rules, and the library looks at what is above them.
"""

from __future__ import annotations

import re

from mailparser_reply import EmailReplyParser

SEARCH_CHARS = 50_000  # quote headers sit near the top; the library's regexes are slow on long lines
MAX_LINE = 250
LANGUAGES = ("en", "de")

_PREFIX = r"^[ \t>*]*"
_SEPARATOR = re.compile(
    _PREFIX + r"-{2,}[ \t]*(?:opprinnelig melding|videresendt melding|oprindelig meddelelse|"
    r"videresendt meddelelse|ursprungligt meddelande|vidarebefordrat meddelande|original message|"
    r"forwarded message|ursprüngliche nachricht|weitergeleitete nachricht)[ \t]*-{2,}",
    re.IGNORECASE,
)
_FORWARD_LINE = re.compile(
    _PREFIX + r"(?:begin forwarded message|start på videresendt melding|videresendt e-post|"
    r"vidarebefordrat brev)[ \t]*:[ \t]*$",
    re.IGNORECASE,
)
# Gmail, Apple Mail, Thunderbird: "Den tir. 24. nov. 2026 kl. 10:12 skrev Kari <kari@x.no>:",
# "24. nov. 2026 kl. 10:12 skrev ...:", "tir. 24. nov. ... skrev ...:" (wrapped onto two lines too).
_WROTE = re.compile(
    _PREFIX + r"(?:den|på|man|tir|ons|tor|fre|lør|søn|mån|tis|\d)[^\n]{0,200}?[ \t]"
    r"(?:skrev|skreiv)[ \t][^\n]{0,200}:[ \t]*$",
    re.IGNORECASE,
)
_FROM = re.compile(_PREFIX + r"(?:fra|från|from|von)[ \t]*\*?:", re.IGNORECASE)
_SENT = re.compile(_PREFIX + r"(?:sendt|skickat|sent|gesendet)[ \t]*\*?:", re.IGNORECASE)
_OTHER = re.compile(
    _PREFIX + r"(?:dato|datum|date|til|till|to|an|emne|ämne|subject|betreff|kopi|cc)[ \t]*\*?:",
    re.IGNORECASE,
)
_QUOTED = re.compile(r"^[ \t]*>")


def reply_text(text: str) -> str | None:
    """The text above the first quote header, or above a closing block of "> " lines.

    None when nothing is quoted (the whole text is new); "" when the message is all quote.
    """
    head = text[:SEARCH_CHARS]
    cut = _nordic_header(head)
    above = head if cut is None else head[:cut]
    found = _library_header(above)
    if found is not None:
        cut = found
    if cut is None:
        return _without_closing_quote(text)
    reply = text[:cut]
    unquoted = _without_closing_quote(reply)
    return (reply if unquoted is None else unquoted).rstrip()


def _nordic_header(text: str) -> int | None:
    lines = text.split("\n")
    position = 0
    for index, line in enumerate(lines):
        if len(line) <= MAX_LINE and _is_header(lines, index):
            return position
        position += len(line) + 1
    return None


def _is_header(lines: list[str], index: int) -> bool:
    line = lines[index]
    if _SEPARATOR.match(line) or _FORWARD_LINE.match(line):
        return True
    if _WROTE.match(line):
        return True
    if index + 1 < len(lines) and "@" in lines[index + 1] and _WROTE.match(f"{line} {lines[index + 1]}"):
        return True  # Gmail wraps long headers, mostly inside the address
    if not _FROM.match(line):
        return False
    # Outlook's block: "Fra:" then "Sendt:"; or a "Fra:" with an address and Dato/Til/Emne after it.
    following = lines[index + 1 : index + 4]
    if any(_SENT.match(other) for other in following):
        return True
    return "@" in line and any(_OTHER.match(other) for other in following)


def _library_header(text: str) -> int | None:
    """Where mail-parser-reply finds its first quote header in ``text``, as an offset into it."""
    if not text.strip():
        return None
    # The library strips every line; it gets the lines short, and its header is found again here.
    lines = [line.strip()[:MAX_LINE] for line in text.split("\n")]
    message = EmailReplyParser(languages=list(LANGUAGES)).read("\n".join(lines))
    header = next((reply.headers for reply in message.replies if reply.headers), None)
    if not header:
        return None
    first = header.strip().split("\n", 1)[0].strip()
    position = 0
    for line, original in zip(lines, text.split("\n"), strict=True):
        if first and line.startswith(first[:MAX_LINE]):
            return position
        position += len(original) + 1
    return None


def _without_closing_quote(text: str) -> str | None:
    lines = text.rstrip().split("\n")
    end = len(lines)
    while end and (_QUOTED.match(lines[end - 1]) or not lines[end - 1].strip()):
        end -= 1
    if end == len(lines) or not any(_QUOTED.match(line) for line in lines[end:]):
        return None
    return "\n".join(lines[:end]).rstrip()
