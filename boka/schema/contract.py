"""The schema as a contract: ``schema.graphql`` at the project's root is the API clients build
against. A test fails when the code and the file differ; this module writes the file and checks
a change to it for breaking changes (graphql-core's ``find_breaking_changes``).

    python -m boka.schema.contract write     # after changing the schema in code
    python -m boka.schema.contract check     # what CI runs: drift, then breaking changes

A breaking change (a field removed, an argument made required, a type changed...) fails the
check unless it is listed in ``schema.breaking.txt``: one line per accepted change, as the
check prints it. Deprecate first (``@strawberry.field(deprecation_reason=...)``), remove later.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from graphql import build_schema as parse_sdl
from graphql import find_breaking_changes

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_FILE = ROOT / "schema.graphql"
ACCEPTED_FILE = ROOT / "schema.breaking.txt"


def printed_schema() -> str:
    """The schema the code builds, as SDL (it does not depend on settings)."""
    from boka.config import Settings
    from boka.schema.root import build_schema

    return build_schema(Settings()).as_str().rstrip("\n") + "\n"


def previous_schema() -> str | None:
    """The committed schema.graphql before its latest change (None outside git, or when the
    file has only one version)."""
    try:
        commits = subprocess.run(
            ["git", "log", "-n", "2", "--format=%H", "--", SCHEMA_FILE.name],
            cwd=ROOT, capture_output=True, text=True, check=True,
        ).stdout.split()
        if not commits:
            return None
        # The latest version is the working file's; compare with the version before it. If
        # the working file differs from HEAD's, HEAD's is the previous one.
        head = _show(commits[0])
        if head != SCHEMA_FILE.read_text():
            return head
        return _show(commits[1]) if len(commits) > 1 else None
    except (OSError, subprocess.CalledProcessError):
        return None


def _show(commit: str) -> str:
    return subprocess.run(
        ["git", "show", f"{commit}:{SCHEMA_FILE.name}"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout


def breaking_changes(old_sdl: str, new_sdl: str) -> list[str]:
    changes = find_breaking_changes(parse_sdl(old_sdl), parse_sdl(new_sdl))
    return [f"{change.type.name}: {change.description}" for change in changes]


def accepted_changes() -> set[str]:
    if not ACCEPTED_FILE.exists():
        return set()
    lines = (line.strip() for line in ACCEPTED_FILE.read_text().splitlines())
    return {line for line in lines if line and not line.startswith("#")}


def unaccepted_breaking_changes() -> list[str]:
    old = previous_schema()
    if old is None:
        return []
    accepted = accepted_changes()
    return [change for change in breaking_changes(old, SCHEMA_FILE.read_text()) if change not in accepted]


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "check"
    if command == "write":
        SCHEMA_FILE.write_text(printed_schema())
        print(f"wrote {SCHEMA_FILE}")
        return 0
    if command != "check":
        print(__doc__)
        return 2
    if not SCHEMA_FILE.exists() or SCHEMA_FILE.read_text() != printed_schema():
        print("schema.graphql differs from the schema in code: run `python -m boka.schema.contract write`"
              " and commit it", file=sys.stderr)
        return 1
    refused = unaccepted_breaking_changes()
    for change in refused:
        print(f"breaking change: {change}", file=sys.stderr)
    if refused:
        print("Deprecate instead, or accept a change on purpose by adding its line to "
              "schema.breaking.txt.", file=sys.stderr)
        return 1
    print("schema.graphql matches the code; no unaccepted breaking change")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
