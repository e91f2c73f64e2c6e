"""The alert rules in deploy/alerts.yml, checked by Prometheus' own promtool: the config loads
them, they parse, every alert fires on synthetic series (deploy/alerts.test.yml), and each one
watches metrics Boka really exports and says what to do."""

from __future__ import annotations

import httpx
import yaml

from tests.ops.promql import DEPLOY, PROMETHEUS_SERIES, ROOT, exported_names, metric_names, run_promtool

ALERTS = DEPLOY / "alerts.yml"
ALERT_TESTS = DEPLOY / "alerts.test.yml"


def _rules() -> list[dict]:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def test_prometheus_config_loads_the_alert_rules() -> None:
    config = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    assert "alerts.yml" in config.get("rule_files", [])
    output = run_promtool("check", "config", "prometheus.yml")
    assert "1 rule files found" in output


def test_alert_rules_parse() -> None:
    output = run_promtool("check", "rules", "alerts.yml")
    assert f"SUCCESS: {len(_rules())} rules found" in output


def test_every_alert_fires_in_promtools_unit_tests() -> None:
    run_promtool("test", "rules", ALERT_TESTS.name)
    tested = yaml.safe_load(ALERT_TESTS.read_text())["tests"]
    fired = {
        case["alertname"]
        for test in tested for case in test["alert_rule_test"] if case.get("exp_alerts")
    }
    alerts = {rule["alert"] for rule in _rules()}
    assert alerts - fired == set(), "alerts without a unit test that makes them fire"


def test_the_issue_asks_for_these_alerts() -> None:
    alerts = {rule["alert"] for rule in _rules()}
    assert {
        "BokaHighErrorRate", "BokaSlowResponses", "BokaRelayLagging", "BokaJobsFailing",
        "BokaWebhooksDead", "BokaPaymentWebhookBacklog", "BokaAppDown", "BokaDatabaseDown",
        "BokaRedisDown",
    } <= alerts


def test_every_alert_has_a_severity_a_summary_and_a_runbook_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Alerts and what to do", 1)[1].split("\n## ", 1)[0]
    for rule in _rules():
        assert rule["labels"]["severity"] in {"critical", "warning"}, rule["alert"]
        assert rule["annotations"]["summary"] and len(rule["annotations"]["runbook"]) > 80, rule["alert"]
        assert f"`{rule['alert']}`" in section, f"README's alert section does not cover {rule['alert']}"


async def test_alerts_watch_metrics_the_app_exports(http: httpx.AsyncClient) -> None:
    exported = exported_names((await http.get("/metrics")).text) | PROMETHEUS_SERIES
    for rule in _rules():
        names = metric_names(rule["expr"])
        assert names, f"{rule['alert']} names no metric"
        assert names <= exported, f"{rule['alert']} watches {names - exported}, which Boka does not export"
