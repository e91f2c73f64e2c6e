"""`make bench`: run every benchmark and print one table of figures, same-run baselines and
ratios against issue 10's goals.

    .venv/bin/python -m bench                 # all of them
    .venv/bin/python -m bench http_api jobs   # some of them, by module name

Each module under bench/ listed in BENCHMARKS has ``measure() -> list[Row]``; it makes its own
throwaway database and servers and cleans them up. Needs PostgreSQL and Redis (the test
services) and wrk.
"""

from __future__ import annotations

import importlib
import sys
import time
import traceback

from bench.table import Row, render

BENCHMARKS = ["http_api", "availability", "idempotency", "jobs", "fanout", "analytics", "tracing"]


def main(argv: list[str]) -> int:
    names = argv or BENCHMARKS
    rows: list[Row] = []
    failed = False
    for name in names:
        started = time.monotonic()
        print(f"== bench.{name} ...", file=sys.stderr, flush=True)
        try:
            rows.extend(importlib.import_module(f"bench.{name}").measure())
        except Exception:  # one broken benchmark must not hide the others' figures
            traceback.print_exc()
            rows.append(Row(name, "failed: see the traceback above", "-", None, "-", False))
            failed = True
        print(f"   done in {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    print(render(rows))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
