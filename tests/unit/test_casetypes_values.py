"""Custom field values: coercion of every kind, and errors that name the field and what is wrong."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from services.cases.casetypes.domain import FieldDef, FieldKind, Option, TypeDef
from services.cases.casetypes.headers import case_changes, case_fields
from services.cases.casetypes.values import MAX_TEXT, InvalidValue, coerce, coerce_values, search_text

LABELS = {"en": "x", "nb": "x"}
OPTIONS = (Option("a4", LABELS), Option("a3", LABELS), Option("letter", LABELS))


def field(kind: FieldKind, key: str = "f") -> FieldDef:
    return FieldDef(key, LABELS, kind, OPTIONS if kind in (FieldKind.SELECT, FieldKind.MULTI_SELECT) else ())


@pytest.mark.parametrize(
    ("kind", "raw", "stored"),
    [
        (FieldKind.TEXT, "  INV-123 ", "INV-123"),
        (FieldKind.LONG_TEXT, "line 1\nline 2", "line 1\nline 2"),
        (FieldKind.NUMBER, 12, 12),
        (FieldKind.NUMBER, 12.5, 12.5),
        (FieldKind.NUMBER, "12,5", 12.5),
        (FieldKind.NUMBER, "1 200", 1200),
        (FieldKind.NUMBER, 3.0, 3),
        (FieldKind.NUMBER, "-0.25", -0.25),
        (FieldKind.DATE, "2026-05-17", "2026-05-17"),
        (FieldKind.DATE, date(2026, 12, 24), "2026-12-24"),
        (FieldKind.BOOLEAN, True, True),
        (FieldKind.BOOLEAN, False, False),
        (FieldKind.BOOLEAN, "Ja", True),
        (FieldKind.BOOLEAN, "false", False),
        (FieldKind.SELECT, "a3", "a3"),
        (FieldKind.MULTI_SELECT, ["letter", "a4", "letter"], ["letter", "a4"]),
        (FieldKind.MULTI_SELECT, "a4, a3", ["a4", "a3"]),
        (FieldKind.USER, "ola@example.no", "ola@example.no"),
        (FieldKind.CUSTOMER, "c-1", "c-1"),
        (FieldKind.ASSET, "asset-9", "asset-9"),
    ],
)
def test_each_kind_is_coerced_to_its_stored_form(kind: FieldKind, raw: Any, stored: Any) -> None:
    value = coerce(field(kind), raw)
    assert value == stored and type(value) is type(stored)


@pytest.mark.parametrize("kind", list(FieldKind))
@pytest.mark.parametrize("raw", [None, "", "   "])
def test_absent_values_are_none_for_every_kind(kind: FieldKind, raw: Any) -> None:
    assert coerce(field(kind), raw) is None


def test_an_empty_multi_select_is_absent() -> None:
    assert coerce(field(FieldKind.MULTI_SELECT), []) is None


@pytest.mark.parametrize(
    ("kind", "raw", "says"),
    [
        (FieldKind.TEXT, 42, "text expected"),
        (FieldKind.TEXT, "x" * (MAX_TEXT + 1), f"at most {MAX_TEXT} characters"),
        (FieldKind.LONG_TEXT, ["a"], "text expected"),
        (FieldKind.NUMBER, "tolv", "a number expected, got 'tolv'"),
        (FieldKind.NUMBER, True, "a number expected"),
        (FieldKind.NUMBER, float("nan"), "a finite number"),
        (FieldKind.NUMBER, "1.2.3", "a number expected"),
        (FieldKind.DATE, "17.05.2026", "a date YYYY-MM-DD expected"),
        (FieldKind.DATE, "2026-02-30", "no such date: 2026-02-30"),
        (FieldKind.DATE, 20260517, "a date YYYY-MM-DD expected"),
        (FieldKind.BOOLEAN, "kanskje", "true or false expected"),
        (FieldKind.BOOLEAN, 1, "true or false expected"),
        (FieldKind.SELECT, "a5", "one of a4, a3, letter expected, got 'a5'"),
        (FieldKind.SELECT, ["a4"], "one of a4, a3, letter expected"),
        (FieldKind.MULTI_SELECT, ["a4", "a5"], "options of a4, a3, letter expected, got 'a5'"),
        (FieldKind.MULTI_SELECT, {"a4": True}, "a list of options expected"),
        (FieldKind.USER, 7, "a user's id or email expected"),
        (FieldKind.CUSTOMER, ["c"], "a customer's id expected"),
        (FieldKind.ASSET, 3.5, "an asset's id expected"),
    ],
)
def test_wrong_values_say_what_is_wrong(kind: FieldKind, raw: Any, says: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        coerce(field(kind), raw)
    assert says in caught.value.message


def test_coerce_values_names_each_unknown_or_wrong_field() -> None:
    type_def = TypeDef(
        key="wrong_invoice",
        labels=LABELS,
        fields=(field(FieldKind.NUMBER, "amount"), field(FieldKind.TEXT, "invoice_no")),
    )
    clean, problems = coerce_values(type_def, {"amount": "12,50", "invoice_no": 5, "colour": "red"})
    assert clean == {"amount": 12.5}
    assert [(p.field, p.message) for p in problems] == [
        ("invoice_no", "text expected, got 5"),
        ("colour", "no such field of case type 'wrong_invoice'; its fields: amount, invoice_no"),
    ]


def test_partial_values_keep_removals() -> None:
    type_def = TypeDef(
        key="t", labels=LABELS, fields=(field(FieldKind.TEXT, "a"), field(FieldKind.TEXT, "b"))
    )
    assert coerce_values(type_def, {"a": None, "b": " x "}, keep_absent=True) == ({"a": None, "b": "x"}, [])
    assert coerce_values(type_def, {"a": None, "b": " x "}) == ({"b": "x"}, [])


def test_a_type_without_fields_says_so() -> None:
    _, problems = coerce_values(TypeDef(key="incident", labels=LABELS), {"x": 1})
    assert problems[0].message == "no such field: case type 'incident' has no custom fields"


def test_trusted_mail_headers_name_a_status_and_field_values() -> None:
    headers = {
        "X-Allsak-Status": " Closed ",
        "X-Allsak-Field-Corrected-Invoice-Number": " 88812 ",
        "x-allsak-field-amount": "120",
        "X-Allsak-Queue": "Drift",
        "X-Allsak-Field-": "ignored",
    }
    assert case_fields(headers) == {"corrected_invoice_number": "88812", "amount": "120"}
    assert case_changes(headers) == {
        "status": "closed",
        "fields": {"corrected_invoice_number": "88812", "amount": "120"},
    }
    assert case_changes({"X-Allsak-Queue": "Drift"}) == {}


def test_search_text_has_the_words_of_texts_numbers_and_chosen_options_in_both_languages() -> None:
    paper = (Option("a4", {"en": "A4 paper", "nb": "A4-ark"}), Option("a3", {"en": "A3", "nb": "A3"}))
    type_def = TypeDef(
        "t",
        LABELS,
        fields=(
            FieldDef("note", LABELS, FieldKind.TEXT),
            FieldDef("count", LABELS, FieldKind.NUMBER),
            FieldDef("paper", LABELS, FieldKind.MULTI_SELECT, paper),
            FieldDef("size", LABELS, FieldKind.SELECT, paper),
            FieldDef("who", LABELS, FieldKind.USER),
            FieldDef("urgent", LABELS, FieldKind.BOOLEAN),
        ),
    )
    values = {
        "note": "papirstopp",
        "count": 3,
        "paper": ["a4", "a3"],
        "size": "a3",
        "who": "u-1",
        "urgent": True,
    }
    assert search_text(type_def, values) == "papirstopp\n3\nA4 paper\nA4-ark\nA3\nA3"
    assert search_text(type_def, {"who": "u-1", "urgent": False}) is None
    # A value of a field the type no longer has is not searched.
    assert search_text(type_def, {"gone": "ord"}) is None
