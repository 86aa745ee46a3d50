"""Customers and their organisations: which organisation a mail address belongs to.

Addresses compare case-insensitively (the local part is case-sensitive by the letter of
RFC 5321, but no mail system a service desk meets treats it so). An organisation lists the
mail domains of its people; an address matches a domain itself or any of its subdomains
(``it.kommune.no`` belongs to ``kommune.no``), and the most specific domain wins.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class OrganisationDomains:
    id: str
    domains: Sequence[str]


def normalise_address(address: str) -> str:
    return address.strip().lower()


def address_domain(address: str) -> str:
    """The domain of an address, lower case, without a trailing dot; empty when there is none."""
    _, at, domain = normalise_address(address).rpartition("@")
    return domain.rstrip(".") if at else ""


def _matches(domain: str, candidate: str) -> bool:
    return domain == candidate or domain.endswith("." + candidate)


def organisation_for(address: str, organisations: Iterable[OrganisationDomains]) -> str | None:
    """The id of the organisation whose listed domain matches the address most specifically."""
    domain = address_domain(address)
    if not domain:
        return None
    best: tuple[int, str] | None = None
    for organisation in organisations:
        for listed in organisation.domains:
            candidate = normalise_address(listed).lstrip("@").rstrip(".")
            if candidate and _matches(domain, candidate) and (best is None or len(candidate) > best[0]):
                best = (len(candidate), organisation.id)
    return best[1] if best else None
