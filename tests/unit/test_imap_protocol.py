"""The pure IMAP helpers: what is sent (XOAUTH2, folder names, UID sets) and how answers are read."""

from __future__ import annotations

import base64

import pytest

from services.intake.channels import imap_protocol as wire

SELECT = [
    b"FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)",
    b"OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted.",
    b"2 EXISTS",
    b"OK [UIDVALIDITY 1795706270] UIDs valid",
    b"OK [UIDNEXT 3] Predicted next UID",
    b"[READ-WRITE] Select completed (0.001 + 0.000 secs).",
]
RAW = b"From: a@b.no\r\nSubject: hi\r\n\r\nbody\r\n"


def test_xoauth2_matches_the_published_example() -> None:
    # The example of Google's "XOAUTH2 protocol" page.
    token = "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg"
    assert wire.xoauth2_response("someuser@example.com", token) == (
        "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52"
        "YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ=="
    )


def test_xoauth2_is_user_then_bearer_token_separated_by_ctrl_a() -> None:
    decoded = base64.b64decode(wire.xoauth2_response("agent@example.no", "tok"))
    assert decoded == b"user=agent@example.no\x01auth=Bearer tok\x01\x01"


def test_xoauth2_refuses_a_separator_inside_a_value() -> None:
    with pytest.raises(ValueError):
        wire.xoauth2_response("agent@example.no", "to\x01ken")


@pytest.mark.parametrize(
    ("name", "encoded"),
    [
        ("INBOX", "INBOX"),
        ("Allsak/Processed", "Allsak/Processed"),
        ("Søppelpost", "S&APg-ppelpost"),
        ("A&B", "A&-B"),
        ("~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"),  # RFC 3501 section 5.1.3
    ],
)
def test_folder_names_are_modified_utf7(name: str, encoded: str) -> None:
    assert wire.encode_folder(name) == encoded


def test_folder_paths_take_the_servers_delimiter_and_are_quoted() -> None:
    assert wire.folder_argument("Allsak/Processed", ".") == '"Allsak.Processed"'
    assert wire.folder_argument("Allsak/Processed", "/") == '"Allsak/Processed"'
    assert wire.folder_argument("Sendte elementer", None) == '"Sendte elementer"'
    assert wire.quoted('a "b" \\c') == '"a \\"b\\" \\\\c"'


def test_uid_sets_are_compact_ranges() -> None:
    assert wire.uid_set([9, 1, 2, 3, 7, 10, 2]) == "1:3,7,9:10"
    assert wire.uid_set([5]) == "5"
    with pytest.raises(ValueError):
        wire.uid_set([])


def test_uidvalidity_is_read_from_select() -> None:
    assert wire.uidvalidity(SELECT) == 1795706270
    with pytest.raises(ValueError):
        wire.uidvalidity([b"Select completed."])


def test_search_answers_are_uids_and_nothing_else() -> None:
    assert wire.search_uids([b"3 1 2", b"Search completed (0.001 + 0.000 secs)."]) == [1, 2, 3]
    assert wire.search_uids([b"SEARCH 4 5", b"OK"]) == [4, 5]
    assert wire.search_uids([b"", b"Search completed (0.001 + 0.000 secs)."]) == []
    assert wire.search_uids([b"OK Still here", b"Search completed."]) == []


def test_sizes_are_read_per_uid() -> None:
    lines = [b"1 FETCH (UID 7 RFC822.SIZE 69)", b"2 FETCH (RFC822.SIZE 12 UID 8)", b"Fetch completed."]
    assert wire.fetch_sizes(lines) == {7: 69, 8: 12}


def test_the_body_literal_is_matched_to_its_uid() -> None:
    before: list[bytes | bytearray] = [
        b"1 FETCH (UID 5 BODY[] {%d}" % len(RAW),
        bytearray(RAW),
        b")",
        b"Fetch completed.",
    ]
    assert wire.fetch_body(before, 5) == RAW
    after: list[bytes | bytearray] = [
        b"1 FETCH (BODY[] {%d}" % len(RAW),
        bytearray(RAW),
        b" UID 5)",
        b"Fetch completed.",
    ]
    assert wire.fetch_body(after, 5) == RAW
    other: list[bytes | bytearray] = [b"2 FETCH (UID 6 BODY[] {3}", bytearray(b"abc"), b")", *before]
    assert wire.fetch_body(other, 5) == RAW
    assert wire.fetch_body([b"Fetch completed."], 5) is None
    assert wire.fetch_body(before, 6) is None


def test_the_hierarchy_delimiter_is_read_from_list() -> None:
    assert wire.list_delimiter([b'(\\Noselect) "/" ""', b"List completed."]) == "/"
    assert wire.list_delimiter([b'LIST (\\Noselect) "." ""', b"List completed."]) == "."
    assert wire.list_delimiter([b'(\\Noselect) NIL ""', b"List completed."]) is None


def test_only_exists_means_new_mail() -> None:
    assert wire.announces_new_mail([b"2 EXISTS", b"1 RECENT"])
    assert not wire.announces_new_mail([b"OK Still here"])
    assert not wire.announces_new_mail([b"3 EXPUNGE"])


def test_response_codes_are_found() -> None:
    assert wire.has_code([b"[ALREADYEXISTS] Mailbox already exists"], b"ALREADYEXISTS")
    assert not wire.has_code([b"Create completed."], b"ALREADYEXISTS")
