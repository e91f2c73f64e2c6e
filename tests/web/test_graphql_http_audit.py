"""Standard JavaScript clients against a real server (issue 14): graphql-http's server audit (the
GraphQL over HTTP spec's conformance suite) passes all 61 audits with none warning, and the
official graphql-ws client gets an ``error`` for a subscription that cannot run. It needs
Node.js: without ``node`` and ``npm`` the test is skipped; with them, the packages are installed
once into .tools/node (gitignored)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from boka.config import Settings
from boka.migrations import PROJECT_ROOT
from tests.servers import clean_env, uvicorn_server

NODE_DIR = PROJECT_ROOT / ".tools" / "node"
PACKAGES = ("graphql-http@1.23.1", "graphql@16.15.0", "graphql-ws@6.4.2", "ws@8.23.0")
AUDIT_SCRIPT = Path(__file__).with_name("graphql_http_audit.mjs")
WS_SCRIPT = Path(__file__).with_name("graphql_ws_errors.mjs")
FRONT_END = "https://app.salon.example"


def _graphql_http() -> Path:
    """node_modules holding graphql-http, installed on first use; skips without Node.js."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("Node.js (node and npm) is not installed")
    modules = NODE_DIR / "node_modules"
    if not all((modules / name.rpartition("@")[0]).is_dir() for name in PACKAGES):
        NODE_DIR.mkdir(parents=True, exist_ok=True)
        installed = subprocess.run(
            ["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(NODE_DIR), *PACKAGES],
            capture_output=True, timeout=300,
        )
        if installed.returncode != 0:
            pytest.skip(f"could not install graphql-http: {installed.stderr.decode()[-300:]}")
    return modules


def test_standard_clients_get_what_the_specs_promise(settings: Settings, tmp_path: Path) -> None:
    modules = _graphql_http()
    # Four audits ask for __type anonymously: introspection open, as in `make run` (the
    # production default refuses anonymous introspection, by design).
    env = clean_env(database_url=settings.database_url, redis_url=settings.redis_url or "",
                    cors_origins=FRONT_END, public_introspection="true", log_level="WARNING")
    with uvicorn_server(env, tmp_path / "server.log") as base:
        audit = subprocess.run(["node", str(AUDIT_SCRIPT), f"{base}/graphql", str(modules)],
                               capture_output=True, timeout=60, check=True)
        ws_url = base.replace("http://", "ws://") + "/graphql"
        subscriptions = subprocess.run(["node", str(WS_SCRIPT), ws_url, str(modules), "salon"],
                                       capture_output=True, timeout=60, check=True)
        preflight = {"Access-Control-Request-Method": "POST",
                     "Access-Control-Request-Headers": "content-type, authorization"}
        allowed = httpx.options(f"{base}/graphql", headers={"Origin": FRONT_END, **preflight})
        refused = httpx.options(f"{base}/graphql", headers={"Origin": "https://evil.example", **preflight})

    report = json.loads(audit.stdout)
    seen = json.loads(subscriptions.stdout)
    assert (report["ok"], report.get("warn", 0), report.get("error", 0)) == (61, 0, 0), report["failures"]
    assert allowed.status_code == 200 and allowed.headers["access-control-allow-origin"] == FRONT_END
    assert refused.status_code == 400 and "access-control-allow-origin" not in refused.headers
    # graphql-ws: an error for each bad document (a syntax error used to only complete), and
    # the connection still serves the next operation.
    assert "Syntax Error" in seen["syntax"]["error"][0]["message"]
    assert seen["syntax"]["error"][0]["extensions"]["code"] == "VALIDATION_ERROR"
    assert "noSuchField" in seen["invalid"]["error"][0]["message"]
    assert seen["still_fine"] == {"complete": [{"next": {"data": {"__typename": "Query"}}}]}
