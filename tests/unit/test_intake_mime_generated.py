"""Generated MIME trees (random nesting, charsets, transfer encodings, broken boundaries, 8-bit
headers, RFC 2047/2231 words, winmail.dat fragments): one sound outcome each, never an exception."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.intake.domain import parse_message
from tests.corpus.builders import message
from tests.corpus.outcomes import check_outcome

T = TypeVar("T")


class HypothesisDraw:
    def __init__(self, data: st.DataObject) -> None:
        self.data = data

    def choice(self, options: Sequence[T]) -> T:
        return self.data.draw(st.sampled_from(options))

    def integer(self, low: int, high: int) -> int:
        return self.data.draw(st.integers(low, high))


@settings(
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
@given(st.data())
def test_generated_messages_give_one_sound_outcome(data: st.DataObject) -> None:
    check_outcome(parse_message(message(HypothesisDraw(data))))


@settings(max_examples=300, deadline=None)
@given(
    st.binary(max_size=3000),
    st.sampled_from([b"", b"From: a@b.no\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n"]),
)
def test_random_bytes_after_a_header_give_one_sound_outcome(noise: bytes, head: bytes) -> None:
    check_outcome(parse_message(head + noise))
