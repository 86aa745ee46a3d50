"""The case page's view of custom field values."""

from __future__ import annotations

from services.gateway.casefields import shown_fields

FORM = {
    "fields": [
        {"key": "amount", "labels": {"en": "Amount", "nb": "Beløp"}, "kind": "number"},
        {
            "key": "channels",
            "labels": {"en": "Sent by", "nb": "Sendt som"},
            "kind": "multi_select",
            "options": [
                {"key": "mail", "labels": {"en": "Mail", "nb": "E-post"}},
                {"key": "ehf", "labels": {"en": "EHF", "nb": "EHF"}},
            ],
        },
        {"key": "note", "labels": {"en": "Note", "nb": "Merknad"}, "kind": "text"},
    ]
}


def test_fields_follow_the_form_in_the_page_language() -> None:
    values = {"channels": ["ehf", "mail"], "amount": 1200, "note": "", "credit": False}
    assert shown_fields(values, FORM, "nb") == [
        ("Beløp", "1200"),
        ("Sendt som", "EHF, E-post"),
        ("credit", "–"),
    ]
    assert shown_fields(values, FORM, "en")[1] == ("Sent by", "EHF, Mail")


def test_without_a_form_every_value_shows_by_its_key() -> None:
    assert shown_fields({"b": "2", "a": ["x", "y"]}, None, "nb") == [("a", "x, y"), ("b", "2")]
    # An option the form no longer offers shows as stored, not as nothing.
    assert shown_fields({"channels": "fax"}, FORM, "en") == [("Sent by", "fax")]
