"""Guards of the architecture that linters do not cover."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [
    p
    for top in ("shared", "services", "allsak")
    for p in (ROOT / top).rglob("*.py")
    if "migrations" not in p.parts
]
MODE_NAMES = {"Mode", "MemoryTransport", "AmqpTransport", "EMBEDDED", "DISTRIBUTED", "mode"}
ALLOWED = {
    ROOT / "shared" / "runtime.py",
    ROOT / "shared" / "bus" / "memory.py",
    ROOT / "shared" / "bus" / "amqp.py",
}


def mode_references(source: str) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(source)):
        name = getattr(node, "id", None) or getattr(node, "attr", None)
        if name in MODE_NAMES:
            found.append((node.lineno, name))
    return found


def test_only_runtime_knows_the_mode() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {name}"
        for path in SOURCES
        if path not in ALLOWED
        for line, name in mode_references(path.read_text())
    ]
    assert offenders == []


def test_the_guard_sees_a_branch_on_the_mode() -> None:
    found = mode_references("if runtime.mode is Mode.EMBEDDED:\n    pass\n")
    assert sorted(name for _, name in found) == ["EMBEDDED", "Mode", "mode"]


def test_no_settings_read_outside_settings_classes() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in SOURCES
        if "os.environ" in (text := path.read_text()) or "os.getenv" in text
    ]
    assert offenders == []


def test_modules_stay_short() -> None:
    too_long = [
        f"{p.relative_to(ROOT)}: {n} lines" for p in SOURCES if (n := len(p.read_text().splitlines())) > 500
    ]
    assert too_long == []
