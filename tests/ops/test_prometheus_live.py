"""Debian's Prometheus, run for real on deploy/alerts.yml, scraping a real app: the rules load and
evaluate without error, and every dashboard query evaluates against the scraped series."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest
import yaml

from tests.conftest import TEST_REDIS_URL
from tests.ops.promql import DEPLOY
from tests.ops.test_dashboards import _exprs
from tests.servers import clean_env, free_port, uvicorn_server


def _until(condition, what: str, timeout: float = 30):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def test_prometheus_loads_the_rules_and_evaluates_every_dashboard_query(
    postgres_url: str, tmp_path: Path
) -> None:
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.skip("prometheus is not installed (Debian: apt-get install prometheus; .ci/run does)")
    env = clean_env(database_url=postgres_url, redis_url=TEST_REDIS_URL)
    with uvicorn_server(env, tmp_path / "app.log") as app:
        # deploy/prometheus.yml's rules, with the app's address instead of Docker's DNS name.
        shutil.copy(DEPLOY / "alerts.yml", tmp_path / "alerts.yml")
        config = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
        config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
        config["scrape_configs"] = [{"job_name": "boka-app", "metrics_path": "/metrics",
                                     "static_configs": [{"targets": [app.removeprefix("http://")]}]}]
        (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
        port = free_port()
        with (tmp_path / "prometheus.log").open("wb") as log:
            server = subprocess.Popen(
                [binary, f"--config.file={tmp_path / 'prometheus.yml'}",
                 f"--storage.tsdb.path={tmp_path / 'tsdb'}", f"--web.listen-address=127.0.0.1:{port}"],
                stdout=log, stderr=subprocess.STDOUT,
            )
        try:
            api = httpx.Client(base_url=f"http://127.0.0.1:{port}/api/v1", timeout=5)

            def query(expr: str) -> dict:
                try:
                    return api.get("/query", params={"query": expr}).json()
                except httpx.TransportError:
                    return {}

            _until(lambda: query('boka_dependency_up{job="boka-app", dependency="database"} == 1')
                   .get("data", {}).get("result"), "a scrape of the app")

            def evaluated() -> list[dict]:
                groups = api.get("/rules").json()["data"]["groups"]
                rules = [rule for group in groups for rule in group["rules"]]
                return rules if rules and all(rule.get("lastEvaluation", "").startswith("2") and
                                              not rule["lastEvaluation"].startswith("0001")
                                              for rule in rules) else []

            rules = _until(evaluated, "every rule evaluated")
            wanted = yaml.safe_load((DEPLOY / "alerts.yml").read_text())["groups"]
            assert len(rules) == sum(len(group["rules"]) for group in wanted)
            assert [r["name"] for r in rules if r["health"] != "ok"] == []
            # A healthy app: nothing that watches it fires (relay, database, Redis, errors).
            firing = {r["name"] for r in rules if r["state"] == "firing"}
            assert firing == set(), firing

            for name, title, expr in _exprs():
                answer = query(expr)
                assert answer.get("status") == "success", f"{name}: {title!r}: {answer}"
            up = query('up{job="boka-app"}')["data"]["result"]
            assert [sample["value"][1] for sample in up] == ["1"]
        finally:
            server.terminate()
            server.wait(timeout=20)
