"""Static checks on the container/deployment files (no Docker needed).

They catch the mistakes that otherwise only show up on `docker compose up`:
a missing service, a mount pointing at a file that was moved, Prometheus not
scraping a component, a dashboard querying a metric Boka does not export.
"""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
PROMETHEUS_FILE = ROOT / "deploy" / "prometheus.yml"

EXPECTED_SERVICES = {
    "postgres",
    "redis",
    "migrate",
    "app",
    "worker",
    "proxy",
    "prometheus",
    "grafana",
}


def _load_yaml(path: Path):
    assert path.is_file(), f"{path.relative_to(ROOT)} is missing"
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict), f"{path.relative_to(ROOT)} should be a YAML mapping"
    return data


def _services() -> dict:
    compose = _load_yaml(COMPOSE_FILE)
    services = compose.get("services")
    assert isinstance(services, dict), "docker-compose.yml has no `services:` mapping"
    return services


def _command(service: dict) -> str:
    """A service's command as one string, whether written as a list or a string."""
    command = service.get("command")
    if isinstance(command, list):
        return " ".join(str(part) for part in command)
    return str(command or "")


def _depends_on(service: dict) -> dict:
    """Normalise `depends_on` (short list form or long mapping form) to a mapping."""
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return {name: {"condition": "service_started"} for name in deps}
    return deps


def test_compose_defines_all_services():
    services = _services()
    missing = EXPECTED_SERVICES - services.keys()
    assert not missing, f"docker-compose.yml is missing service(s): {sorted(missing)}"


def test_app_runs_replicated_after_migrations():
    app = _services()["app"]
    replicas = (app.get("deploy") or {}).get("replicas", 1)
    assert int(replicas) >= 2, (
        f"app should run at least 2 replicas behind the proxy (deploy.replicas), got {replicas}"
    )
    assert "ports" not in app, (
        "app must not publish a host port: replicas cannot share one; traffic goes through proxy"
    )
    migrate_dep = _depends_on(app).get("migrate")
    assert migrate_dep is not None, "app must depend on migrate so it never starts on an old schema"
    assert migrate_dep.get("condition") == "service_completed_successfully", (
        "app must wait for migrate with condition service_completed_successfully, "
        f"got {migrate_dep.get('condition')!r}"
    )


def test_worker_runs_rq_worker_script():
    worker = _services()["worker"]
    assert _command(worker) == "python worker.py", (
        f"worker service should run `python worker.py`, got `{_command(worker)}`"
    )
    migrate_dep = _depends_on(worker).get("migrate") or {}
    assert migrate_dep.get("condition") == "service_completed_successfully", (
        "worker must wait for migrate to complete successfully before processing jobs"
    )


def test_migrate_upgrades_and_grants_the_app_role():
    migrate = _services()["migrate"]
    assert _command(migrate) == "python -m boka.migrations --create-app-role", (
        "migrate service should run `python -m boka.migrations --create-app-role` (alembic "
        f"upgrade head, then the app role's grants), got `{_command(migrate)}`"
    )


def _database_user(url: str) -> str:
    match = re.match(r"postgresql\+asyncpg://([^:@/]+)[:@]", url)
    assert match, f"not a postgresql+asyncpg URL with a user: {url!r}"
    return match.group(1)


def test_migrations_run_as_the_owner_and_the_app_as_another_role():
    """Row level security binds the app only if it is not the tables' owner (nor a superuser,
    which POSTGRES_USER is)."""
    services = _services()
    owner = services["postgres"]["environment"]["POSTGRES_USER"]
    migrate_env = services["migrate"]["environment"]
    assert _database_user(migrate_env["BOKA_MIGRATION_DATABASE_URL"]) == owner, (
        "migrate must run the migrations as the database's owner (BOKA_MIGRATION_DATABASE_URL)"
    )
    app_user = _database_user(migrate_env["BOKA_DATABASE_URL"])
    assert app_user != owner, "the app's role must not be the tables' owner"
    for name in ("app", "worker"):
        env = services[name]["environment"]
        assert _database_user(env["BOKA_DATABASE_URL"]) == app_user, (
            f"{name} must connect as the app role {app_user!r}, the one migrate grants"
        )
        assert "BOKA_MIGRATION_DATABASE_URL" not in env, (
            f"{name} must not be given the owner's credentials"
        )
        background_user = _database_user(env["BOKA_BACKGROUND_DATABASE_URL"])
        assert background_user not in (owner, app_user), (
            f"{name}'s all-tenant work must connect as a role of its own (issue 12 item 10)"
        )


def test_every_mounted_deploy_file_exists():
    mounted = []
    for name, service in _services().items():
        for volume in service.get("volumes") or []:
            if isinstance(volume, dict):  # long syntax
                source = str(volume.get("source", ""))
            else:  # short syntax "source:target[:mode]"
                source = str(volume).split(":", 1)[0]
            if source.startswith("./deploy"):
                mounted.append((name, source))

    assert mounted, "expected docker-compose.yml to mount config files from ./deploy"
    for name, source in mounted:
        assert (ROOT / source).exists(), (
            f"service {name!r} mounts {source}, which does not exist in the repository"
        )


def test_prometheus_scrapes_app_and_worker():
    config = _load_yaml(PROMETHEUS_FILE)
    jobs = config.get("scrape_configs") or []
    assert jobs, "deploy/prometheus.yml has no scrape_configs"

    def dns_names(job: dict) -> set:
        return {name for sd in job.get("dns_sd_configs") or [] for name in sd.get("names") or []}

    def static_targets(job: dict) -> set:
        return {t for sc in job.get("static_configs") or [] for t in sc.get("targets") or []}

    app_jobs = [job for job in jobs if "app" in dns_names(job)]
    assert app_jobs, (
        "deploy/prometheus.yml should scrape the app through dns_sd_configs (names: [app]) "
        "so that every replica is scraped, not just one"
    )
    assert app_jobs[0].get("metrics_path", "/metrics") == "/metrics", (
        "the app exports Prometheus metrics on /metrics"
    )

    worker_jobs = [job for job in jobs if "worker:9100" in static_targets(job) or "worker" in dns_names(job)]
    assert worker_jobs, "deploy/prometheus.yml has no scrape job targeting the worker (worker:9100)"


# The dashboards are checked by tests/ops/test_dashboards.py (every query parsed by promtool and
# naming metrics a real app exports).


def test_dockerfile_is_multi_stage_and_non_root():
    assert DOCKERFILE.is_file(), "Dockerfile is missing"
    instructions = [
        line.strip()
        for line in DOCKERFILE.read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    froms = [line for line in instructions if line.upper().startswith("FROM ")]
    assert len(froms) >= 2, (
        "Dockerfile should be multi-stage (a builder and a slim runtime stage), "
        f"found {len(froms)} FROM line(s)"
    )

    # The USER that applies is the last one after the final FROM.
    final_stage = instructions[instructions.index(froms[-1]) :]
    users = [
        line.split(None, 1)[1].strip() for line in final_stage if line.upper().startswith("USER ")
    ]
    assert users, "the runtime stage of the Dockerfile never sets USER, so it runs as root"
    user = users[-1].split(":", 1)[0]
    assert user not in {"root", "0"}, f"the runtime stage runs as {user!r}; it must be non-root"
