"""Labels of the agent pages: Norwegian bokmål, English for browsers that prefer it."""

from __future__ import annotations

from collections.abc import Callable

DEFAULT = "nb"
# Languages a browser may ask for, and the label set that serves each.
SERVED = {"nb": "nb", "no": "nb", "nn": "nb", "en": "en"}

STRINGS: dict[str, dict[str, str]] = {
    "nb": {
        "app": "Allsak",
        "login": "Logg inn",
        "logout": "Logg ut",
        "token": "API-nøkkel",
        "token_help": "Lim inn API-nøkkelen din.",
        "login_failed": "Ukjent eller tilbakekalt API-nøkkel.",
        "cases": "Saker",
        "number": "Nummer",
        "subject": "Emne",
        "status": "Status",
        "queue": "Kø",
        "requester": "Innmelder",
        "assignee": "Saksbehandler",
        "priority": "Prioritet",
        "type": "Type",
        "created": "Opprettet",
        "updated": "Oppdatert",
        "text": "Tekst",
        "filter": "Filtrer",
        "next_page": "Neste side",
        "no_cases": "Ingen saker.",
        "articles": "Artikler",
        "no_articles": "Ingen artikler.",
        "attachment": "vedlegg",
        "from": "Fra",
        "back": "Tilbake til saker",
        "not_found": "Fant ikke saken.",
        "forbidden": "Du har ikke tilgang.",
        "unavailable": "Tjenesten svarer ikke akkurat nå. Prøv igjen om litt.",
        "error": "Noe gikk galt.",
        "all": "alle",
        "sla.first_response_due": "Første svar innen",
        "sla.resolution_due": "Løst innen",
        "status.new": "ny",
        "status.open": "åpen",
        "status.waiting_for_customer": "venter på kunde",
        "status.waiting_for_third_party": "venter på tredjepart",
        "status.resolved": "løst",
        "status.closed": "lukket",
        "kind.mail_in": "innkommende e-post",
        "kind.web": "skjema",
        "kind.reply": "svar",
        "kind.note": "notat",
        "kind.phone": "telefon",
        "kind.delivery_failure": "leveringsfeil",
    },
    "en": {
        "app": "Allsak",
        "login": "Log in",
        "logout": "Log out",
        "token": "API token",
        "token_help": "Paste your API token.",
        "login_failed": "Unknown or revoked API token.",
        "cases": "Cases",
        "number": "Number",
        "subject": "Subject",
        "status": "Status",
        "queue": "Queue",
        "requester": "Requester",
        "assignee": "Assignee",
        "priority": "Priority",
        "type": "Type",
        "created": "Created",
        "updated": "Updated",
        "text": "Text",
        "filter": "Filter",
        "next_page": "Next page",
        "no_cases": "No cases.",
        "articles": "Articles",
        "no_articles": "No articles.",
        "attachment": "attachment",
        "from": "From",
        "back": "Back to cases",
        "not_found": "Case not found.",
        "forbidden": "You do not have access.",
        "unavailable": "The service is not answering right now. Try again shortly.",
        "error": "Something went wrong.",
        "all": "all",
        "sla.first_response_due": "First response due",
        "sla.resolution_due": "Resolution due",
        "status.new": "new",
        "status.open": "open",
        "status.waiting_for_customer": "waiting for customer",
        "status.waiting_for_third_party": "waiting for third party",
        "status.resolved": "resolved",
        "status.closed": "closed",
        "kind.mail_in": "inbound mail",
        "kind.web": "web form",
        "kind.reply": "reply",
        "kind.note": "note",
        "kind.phone": "phone",
        "kind.delivery_failure": "delivery failure",
    },
}


def language(accept_language: str | None) -> str:
    """The served language the browser ranks highest (RFC 9110 q-values); bokmål when none fits."""
    best, best_q = DEFAULT, 0.0
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        served = SERVED.get(tag.strip().lower().split("-", 1)[0])
        if served is None:
            continue
        q = _quality(params)
        # Strictly greater: of equal q-values the earlier entry wins, as browsers rank them in order.
        if q > best_q:
            best, best_q = served, q
    return best


def _quality(params: str) -> float:
    for param in params.split(";"):
        key, _, value = param.strip().partition("=")
        if key.strip().lower() == "q":
            try:
                return max(0.0, min(1.0, float(value)))
            except ValueError:
                return 0.0
    return 1.0


def translator(lang: str) -> Callable[[str], str]:
    """``t(key)``: the label in ``lang``; an unknown key (a status the cases service added) as is."""
    strings = STRINGS.get(lang, STRINGS[DEFAULT])

    def t(key: str) -> str:
        if key in strings:
            return strings[key]
        return key.split(".", 1)[1] if "." in key else key

    return t
