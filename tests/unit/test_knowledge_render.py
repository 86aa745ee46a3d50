"""Standard solutions: placeholders are filled by name only, and what cannot be filled shows."""

from __future__ import annotations

import pytest

from services.cases.knowledge.domain import (
    PLACEHOLDERS,
    case_context,
    placeholders,
    render,
    unknown_placeholders,
)

CONTEXT = case_context(
    customer_name="Kari Nordmann",
    customer_email="kari@kunde.no",
    case_number="10042",
    case_subject="Skriveren virker ikke",
    agent_name="Ola",
)


def test_known_placeholders_are_filled() -> None:
    rendered = render("Hei {customer.name}!\nSak {case.number} er løst.\nHilsen {agent.name}", CONTEXT)
    assert rendered.text == "Hei Kari Nordmann!\nSak 10042 er løst.\nHilsen Ola"
    assert rendered.unknown == () and rendered.missing == ()


def test_spaces_inside_braces_and_case_do_not_matter() -> None:
    assert render("{ Customer.Name } / {CASE.NUMBER}", CONTEXT).text == "Kari Nordmann / 10042"


def test_unknown_placeholders_are_marked_and_reported_once() -> None:
    rendered = render("Hei {customer.nmae}, {customer.nmae}; {ticket.id}", CONTEXT)
    assert rendered.text == "Hei [[customer.nmae]], [[customer.nmae]]; [[ticket.id]]"
    assert rendered.unknown == ("customer.nmae", "ticket.id")


def test_known_placeholder_without_a_value_is_marked_as_missing() -> None:
    context = {**CONTEXT, "customer.name": None, "agent.name": ""}
    rendered = render("Hei {customer.name}, hilsen {agent.name}", context)
    assert rendered.text == "Hei [[customer.name]], hilsen [[agent.name]]"
    assert rendered.missing == ("customer.name", "agent.name") and rendered.unknown == ()


@pytest.mark.parametrize(
    "template",
    [
        "{__class__}",
        "{customer.__class__}",
        "{customer.name.__class__.__mro__}",
        "{__import__}",
        "{__builtins__.open}",
        "{case.number.__globals__}",
    ],
)
def test_dunder_names_are_only_unknown_names(template: str) -> None:
    rendered = render(template, CONTEXT)
    assert rendered.text == f"[[{template[1:-1]}]]"
    assert rendered.unknown == (template[1:-1].lower(),)


@pytest.mark.parametrize(
    "template",
    [
        "{0}",
        "{0.__class__}",
        "{customer.name!r}",
        "{customer.name:>40}",
        "{customer[name]}",
        "{__import__('os').system('id')}",
        "${customer.name",
        "{}",
        "{{}}",
    ],
)
def test_format_and_expression_syntax_is_left_as_text(template: str) -> None:
    # Not a dotted name in braces: no placeholder at all, so nothing is looked up or evaluated.
    rendered = render(template, CONTEXT)
    assert rendered.text == template
    assert rendered.unknown == () and rendered.missing == ()


def test_values_are_inserted_verbatim_and_not_rendered_again() -> None:
    context = {**CONTEXT, "customer.name": "{agent.name} {__class__} [[x]]"}
    rendered = render("Hei {customer.name}", context)
    assert rendered.text == "Hei {agent.name} {__class__} [[x]]"
    assert rendered.unknown == ()


def test_context_is_only_looked_up_not_called() -> None:
    class Loud(dict[str, str | None]):
        def __getattr__(self, name: str) -> str:
            raise AssertionError(f"attribute {name} read")

    assert render("{customer.name}", Loud(CONTEXT)).text == "Kari Nordmann"


def test_placeholders_of_a_template_and_the_unknown_ones() -> None:
    template = "{case.number} {Customer.Name} {case.number} {kunde.navn} {0}"
    assert placeholders(template) == ["case.number", "customer.name", "kunde.navn"]
    assert unknown_placeholders(template) == ["kunde.navn"]


def test_the_case_context_names_every_documented_placeholder() -> None:
    assert set(CONTEXT) == set(PLACEHOLDERS)
