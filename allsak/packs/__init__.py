"""Department packs: configuration and demo data for one department each, as JSON files here.

A pack names the packs it builds on (``requires``; every department pack requires ``common``,
the organisations and people the departments share). The format is described in
``docs/packs.md``; ``allsak.seed`` loads packs through the services' public API.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

Pack = dict[str, Any]


class UnknownPack(LookupError):
    pass


@dataclass(frozen=True)
class PackInfo:
    key: str
    description: str
    cases: int


def keys() -> list[str]:
    """Every pack here, by key (its file name), in alphabetical order."""
    folder = resources.files(__name__)
    return sorted(p.name.removesuffix(".json") for p in folder.iterdir() if p.name.endswith(".json"))


def load(key: str) -> Pack:
    path = resources.files(__name__) / f"{key}.json"
    if not key.replace("_", "").isalnum() or not path.is_file():
        raise UnknownPack(f"no pack {key!r}; one of: {', '.join(keys())}")
    pack: Pack = json.loads(path.read_text(encoding="utf-8"))
    return pack


def describe() -> list[PackInfo]:
    """Each pack with its one-line description (English) and how many demo cases it brings."""
    found = []
    for key in keys():
        pack = load(key)
        found.append(PackInfo(key, pack["description"]["en"], int(pack.get("demo", {}).get("cases", 0))))
    return found


def with_requirements(wanted: list[str]) -> list[Pack]:
    """The packs asked for and those they build on, each once, every pack after its requirements."""
    ordered: dict[str, Pack] = {}

    def visit(key: str, path: tuple[str, ...]) -> None:
        if key in ordered:
            return
        if key in path:
            raise UnknownPack(f"packs require each other in a circle: {' -> '.join((*path, key))}")
        pack = load(key)
        for required in pack.get("requires", []):
            visit(required, (*path, key))
        ordered[key] = pack

    for key in wanted:
        visit(key, ())
    return list(ordered.values())
