"""Imports point down and make no cycles (issue 13 item 2): the contracts in pyproject.toml
([tool.importlinter]) hold, and a new upward import breaks them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint_imports(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", str(project / "pyproject.toml")],
        cwd=project, env={"PYTHONPATH": str(project), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=300,
    )


def test_the_import_contracts_hold() -> None:
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def _copy_with(tmp_path: Path, module: str, line: str) -> Path:
    project = tmp_path / "project"
    shutil.copytree(ROOT / "boka", project / "boka", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", project / "pyproject.toml")
    path = project / (module.replace(".", "/") + ".py")
    path.write_text(path.read_text() + f"\n{line}\n")
    return project


def test_a_domain_module_importing_the_graphql_layer_breaks_the_contracts(tmp_path: Path) -> None:
    result = _lint_imports(_copy_with(tmp_path, "boka.booking.pricing", "import boka.schema.booking"))
    assert result.returncode != 0
    assert "boka.booking.pricing -> boka.schema.booking" in result.stdout


def test_a_new_import_of_the_runtime_from_the_domain_breaks_the_contracts(tmp_path: Path) -> None:
    result = _lint_imports(_copy_with(tmp_path, "boka.payments.policies", "import boka.runtime"))
    assert result.returncode != 0
    assert "boka.payments.policies -> boka.runtime" in result.stdout


def test_a_new_cycle_inside_a_package_breaks_the_contracts(tmp_path: Path) -> None:
    # boka.booking.schedules imports boka.booking.catalog; importing it back is a cycle.
    result = _lint_imports(_copy_with(tmp_path, "boka.booking.catalog", "import boka.booking.schedules"))
    assert result.returncode != 0
    assert "No cycles are allowed in boka.booking" in result.stdout
