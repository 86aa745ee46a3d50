"""Parse-only speed of intake's MIME reading, on a mixed corpus.

    .venv/bin/python tests/bench/mail_parse.py [--messages 5000] [--generated 300]

The corpus is tests/corpus/mail, CPython's Lib/test/test_email/data and generated MIME trees
(tests/corpus/builders.py), repeated to ``--messages``. Prints messages/s, p50/p99 ms per
message, the outcome counts and the peak RSS of this process.
"""

from __future__ import annotations

import argparse
import gc
import resource
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from services.intake.domain import Parsed, parse_message  # noqa: E402
from tests.corpus.builders import RandomDraw, message  # noqa: E402
from tests.corpus.test_corpus import OURS, THEIRS  # noqa: E402


def corpus(total: int, generated: int) -> list[bytes]:
    files = [path.read_bytes() for path in OURS + THEIRS]
    made = [message(RandomDraw(seed)) for seed in range(generated)]
    mixed = files + made
    return [mixed[i % len(mixed)] for i in range(total)]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--generated", type=int, default=300)
    options = parser.parse_args()
    raws = corpus(options.messages, options.generated)
    for raw in raws[:200]:
        parse_message(raw)  # warm up: imports, regex compilation, the charset detector's tables
    gc.collect()
    timings: list[float] = []
    outcomes: Counter[str] = Counter()
    started = time.perf_counter()
    for raw in raws:
        begun = time.perf_counter()
        result = parse_message(raw)
        timings.append((time.perf_counter() - begun) * 1000)
        outcomes["parsed" if isinstance(result, Parsed) else f"rejected:{result.reason}"] += 1
    elapsed = time.perf_counter() - started
    timings.sort()
    megabytes = sum(len(raw) for raw in raws) / 1e6
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(
        f"messages        {len(raws)} ({megabytes:.1f} MB; {len(OURS)} ours, {len(THEIRS)} CPython, "
        f"{options.generated} generated, repeated)"
    )
    print(f"parse-only rate {len(raws) / elapsed:,.0f} msgs/s ({megabytes / elapsed:.1f} MB/s, one thread)")
    print(
        f"per message     p50 {statistics.median(timings):.2f} ms, "
        f"p99 {timings[int(len(timings) * 0.99) - 1]:.2f} ms, max {timings[-1]:.2f} ms"
    )
    print(f"peak RSS        {peak:.0f} MiB")
    print("outcomes        " + ", ".join(f"{name} {count}" for name, count in sorted(outcomes.items())))


if __name__ == "__main__":
    main()
