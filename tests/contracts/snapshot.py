"""Snapshot files for contract tests; ``ALLSAK_UPDATE_SNAPSHOTS=1`` rewrites them."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

SNAPSHOTS = Path(__file__).parent / "snapshots"


def assert_snapshot(name: str, value: Any) -> None:
    path = SNAPSHOTS / name
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if os.environ.get("ALLSAK_UPDATE_SNAPSHOTS") == "1" or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        if os.environ.get("CI") == "true" and os.environ.get("ALLSAK_UPDATE_SNAPSHOTS") != "1":
            raise AssertionError(f"snapshot {name} was missing; commit the file written now")
        return
    assert json.loads(path.read_text()) == json.loads(text), (
        f"{name} changed. A breaking change to a contract needs a new version; if this change is "
        "additive and intended, rerun with ALLSAK_UPDATE_SNAPSHOTS=1 and commit the snapshot."
    )
