"""The Grafana dashboards provisioned from deploy/grafana: four of them, well formed, every
panel's query valid PromQL (promtool parses them) that names metrics a real app exports."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import httpx
import yaml

from tests.ops.promql import DEPLOY, PROMETHEUS_SERIES, exported_names, metric_names, run_promtool

GRAFANA = DEPLOY / "grafana"
DASHBOARDS = GRAFANA / "dashboards"
WANTED = {
    "boka-overview": "Boka overview",
    "boka-bookings-money": "Boka bookings and money",
    "boka-jobs-webhooks": "Boka jobs and webhooks",
    "boka-live": "Boka live layer",
}


def _dashboards() -> dict[str, dict]:
    return {path.name: json.loads(path.read_text()) for path in sorted(DASHBOARDS.glob("*.json"))}


def _exprs() -> list[tuple[str, str, str]]:
    return [
        (name, panel["title"], target["expr"])
        for name, dashboard in _dashboards().items()
        for panel in dashboard["panels"] for target in panel["targets"]
    ]


def test_the_four_dashboards_are_provisioned() -> None:
    dashboards = _dashboards()
    assert {d["uid"]: d["title"] for d in dashboards.values()} == WANTED
    provider = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "boka.yml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/etc/grafana/dashboards"
    compose = yaml.safe_load((DEPLOY.parent / "docker-compose.yml").read_text())
    assert "./deploy/grafana/dashboards:/etc/grafana/dashboards:ro" in compose["services"]["grafana"]["volumes"]


def test_dashboards_are_well_formed() -> None:
    datasource = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text())
    uid = datasource["datasources"][0]["uid"]
    for name, dashboard in _dashboards().items():
        assert isinstance(dashboard["schemaVersion"], int) and dashboard["panels"], name
        ids = [panel["id"] for panel in dashboard["panels"]]
        assert len(ids) == len(set(ids)), f"{name}: panel ids repeat"
        cells: set[tuple[int, int]] = set()
        for panel in dashboard["panels"]:
            where = f"{name}: {panel['title']!r}"
            assert panel["type"] in {"timeseries", "stat"}, where
            grid = panel["gridPos"]
            assert grid["x"] + grid["w"] <= 24 and grid["h"] > 0, where
            mine = {(x, y) for x in range(grid["x"], grid["x"] + grid["w"])
                    for y in range(grid["y"], grid["y"] + grid["h"])}
            assert not cells & mine, f"{where} overlaps another panel"
            cells |= mine
            assert panel["datasource"]["uid"] == uid, where
            assert panel["targets"], f"{where} has no query"
            refs = [target["refId"] for target in panel["targets"]]
            assert len(refs) == len(set(refs)), where
            for target in panel["targets"]:
                assert target["datasource"]["uid"] == uid and target["expr"].strip(), where


def test_every_query_is_valid_promql() -> None:
    """promtool parses each query as the expression of a recording rule."""
    rules = {"groups": [{"name": "dashboards", "rules": [
        {"record": f"dashboard:query{i}", "expr": expr} for i, (_, _, expr) in enumerate(_exprs())
    ]}]}
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "queries.yml"
        path.write_text(yaml.safe_dump(rules))
        output = run_promtool("check", "rules", str(path))
    assert f"SUCCESS: {len(_exprs())} rules found" in output


async def test_every_query_names_metrics_the_app_exports(http: httpx.AsyncClient) -> None:
    exported = exported_names((await http.get("/metrics")).text) | PROMETHEUS_SERIES
    for name, title, expr in _exprs():
        names = metric_names(expr)
        assert names, f"{name}: {title!r} names no metric"
        assert names <= exported, f"{name}: {title!r} queries {names - exported}, not exported"
