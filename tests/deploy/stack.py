"""The compose stack's processes, started here from the same config files (no Docker engine on
these machines): nginx on deploy/nginx.conf, app replicas as the Dockerfile's CMD runs them, the
worker as docker-compose.yml runs it, Prometheus on deploy/prometheus.yml. What differs from
compose is only what compose itself sets per environment: addresses, ports and paths."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import yaml

from boka.migrations import PROJECT_ROOT
from tests.servers import clean_env, free_port

DEPLOY = PROJECT_ROOT / "deploy"
NGINX_TEMPLATE = DEPLOY / "nginx.conf"
NGINX_PLACEHOLDERS = ("BOKA_PROXY_LISTEN", "BOKA_PROXY_APP_SERVERS", "BOKA_PROXY_RESOLVER",
                      "BOKA_PROXY_LOG_DIR", "BOKA_PROXY_PID_FILE")


def find_binary(name: str) -> str | None:
    """A Debian package's binary, also when /usr/sbin is not on PATH."""
    return shutil.which(name) or next(
        (str(p) for p in (Path("/usr/sbin") / name, Path("/usr/bin") / name) if p.is_file()), None
    )


def compose_service(name: str) -> dict:
    return yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())["services"][name]


def dockerfile_command() -> list[str]:
    """The image's CMD (what compose's `app` runs: it sets no command of its own)."""
    assert "command" not in compose_service("app"), "compose's app now overrides the image's CMD"
    lines = [line for line in (PROJECT_ROOT / "Dockerfile").read_text().splitlines() if line.startswith("CMD ")]
    return json.loads(lines[-1].removeprefix("CMD "))


def app_command(port: int) -> list[str]:
    """The Dockerfile's CMD with this machine's Python, host and port."""
    command = dockerfile_command()
    assert command[0] == "uvicorn", command
    command = [sys.executable, "-m", *command]
    command[command.index("--host") + 1] = "127.0.0.1"
    command[command.index("--port") + 1] = str(port)
    return command


def worker_command() -> list[str]:
    command = [str(part) for part in compose_service("worker")["command"]]
    assert command[0] == "python", command
    return [sys.executable, *command[1:]]


def render_nginx_conf(values: dict[str, str]) -> str:
    """deploy/nginx.conf rendered as nginx's image renders its templates: envsubst, with only
    the BOKA_PROXY_ placeholders substituted (compose sets NGINX_ENVSUBST_FILTER to them)."""
    assert set(values) == set(NGINX_PLACEHOLDERS)
    environment = compose_service("proxy")["environment"]
    assert set(NGINX_PLACEHOLDERS) <= set(environment), "compose no longer sets every placeholder"
    shell_format = " ".join(f"${{{name}}}" for name in NGINX_PLACEHOLDERS)
    rendered = subprocess.run(
        ["envsubst", shell_format], input=NGINX_TEMPLATE.read_text(), env={**os.environ, **values},
        capture_output=True, text=True, check=True,
    ).stdout
    left = re.findall(r"\$\{?BOKA_PROXY_[A-Z_]+\b", rendered)
    assert not left, f"placeholders the test does not fill in: {left}"
    return rendered


class Process:
    """One of the stack's processes, its output in a log file."""

    def __init__(self, name: str, command: list[str], log_path: Path, env: dict[str, str] | None = None) -> None:
        self.name = name
        self.log_path = log_path
        with log_path.open("ab") as log:
            self.popen = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=log,
                                          stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 20) -> None:
        if self.popen.poll() is None:
            os.kill(self.popen.pid, signal.SIGTERM)  # what `docker stop` sends to the container's PID 1
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()
        try:  # anything it left behind in its process group (the worker's relay child)
            os.killpg(self.popen.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def wait_for_http(process: Process, url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process.alive():
            raise AssertionError(f"{process.name} exited with {process.popen.returncode}:\n{process.log()[-3000:]}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{process.name} did not answer {url} in time:\n{process.log()[-3000:]}")


class Stack:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.apps: list[Process] = []
        self.app_urls: list[str] = []
        self.worker: Process | None = None
        self.worker_metrics_url = ""
        self.nginx: Process | None = None
        self.url = ""  # the stack's entry: nginx
        self.prometheus: Process | None = None
        self.prometheus_url = ""

    @property
    def access_log(self) -> Path:
        return self.directory / "nginx" / "access.log"

    def app_logs_errors(self) -> list[str]:
        return [line for app in self.apps for line in app.log().splitlines() if '"level": "error"' in line]


@contextmanager
def stack(directory: Path, *, database_url: str, redis_url: str, apps: int = 2,
          prometheus: bool = False) -> Iterator[Stack]:
    """Start the stack: the apps and the worker (as compose's `app` and `worker`), nginx in
    front of the apps (`proxy`) and, if asked, Prometheus scraping them (`prometheus`)."""
    nginx_binary = find_binary("nginx")
    assert nginx_binary, "nginx is not installed"
    started = Stack(directory)
    with ExitStack() as cleanup:
        # compose's x-boka-env, for this machine: the run's PostgreSQL (as the app role) and Redis
        env = clean_env(database_url=database_url, redis_url=redis_url, log_level="WARNING",
                        graphiql="false", trusted_proxies="127.0.0.1/32")
        ports = [free_port() for _ in range(apps)]
        for index, port in enumerate(ports):
            app = Process(f"app{index + 1}", app_command(port), directory / f"app{index + 1}.log", env)
            cleanup.callback(app.stop)
            started.apps.append(app)
            started.app_urls.append(f"http://127.0.0.1:{port}")
        metrics_port = free_port()
        worker = Process("worker", worker_command(), directory / "worker.log",
                         {**env, "BOKA_WORKER_METRICS_PORT": str(metrics_port)})
        cleanup.callback(worker.stop)
        started.worker = worker
        started.worker_metrics_url = f"http://127.0.0.1:{metrics_port}"

        proxy_dir = directory / "nginx"
        proxy_dir.mkdir()
        proxy_port = free_port()
        config = proxy_dir / "nginx.conf"
        config.write_text(render_nginx_conf({
            "BOKA_PROXY_LISTEN": f"127.0.0.1:{proxy_port}",
            "BOKA_PROXY_APP_SERVERS": " ".join(f"server 127.0.0.1:{port};" for port in ports),
            "BOKA_PROXY_RESOLVER": "127.0.0.1",
            "BOKA_PROXY_LOG_DIR": str(proxy_dir),
            "BOKA_PROXY_PID_FILE": str(proxy_dir / "nginx.pid"),
        }))
        # as the image runs it: in the foreground
        nginx = Process("nginx", [nginx_binary, "-p", str(proxy_dir), "-e", str(proxy_dir / "error.log"),
                                  "-c", str(config), "-g", "daemon off;"], proxy_dir / "stdout.log")
        cleanup.callback(nginx.stop)
        started.nginx = nginx
        started.url = f"http://127.0.0.1:{proxy_port}"

        if prometheus:
            started.prometheus, started.prometheus_url = _start_prometheus(
                directory / "prometheus", started.app_urls, started.worker_metrics_url, cleanup)

        for app, url in zip(started.apps, started.app_urls):
            wait_for_http(app, f"{url}/healthz")
        wait_for_http(nginx, f"{started.url}/healthz")
        wait_for_http(worker, f"{started.worker_metrics_url}/metrics")
        yield started


def _start_prometheus(directory: Path, app_urls: list[str], worker_url: str,
                      cleanup: ExitStack) -> tuple[Process, str]:
    """Prometheus on deploy/prometheus.yml itself: a directory whose entries are links to
    deploy/'s (as compose mounts deploy/prometheus.yml and its rule files into
    /etc/prometheus/), plus the targets/ the config's file_sd_configs read."""
    binary = find_binary("prometheus")
    assert binary, "prometheus is not installed"
    directory.mkdir()
    for entry in DEPLOY.iterdir():
        (directory / entry.name).symlink_to(entry)
    targets = directory / "targets"
    targets.mkdir()
    (targets / "boka-app.yml").write_text(yaml.safe_dump([{"targets": [u.removeprefix("http://") for u in app_urls]}]))
    (targets / "boka-worker.yml").write_text(yaml.safe_dump([{"targets": [worker_url.removeprefix("http://")]}]))
    port = free_port()
    process = Process("prometheus", [
        binary, f"--config.file={directory / 'prometheus.yml'}", f"--storage.tsdb.path={directory / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ], directory / "prometheus.log")
    cleanup.callback(process.stop)
    return process, f"http://127.0.0.1:{port}"
