"""Real headless Chromium for the page tests, and the real app served to it over TCP.

Playwright drives Debian's chromium (``/usr/bin/chromium``, which ``.ci/run`` and ``make
browser`` install): the tests never download a browser of their own. Without it they are
skipped with the reason. The server is the app as production runs it: PostgreSQL under row
level security, Redis for pub/sub, the event relay in the process (no worker here).
"""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import uvicorn

from boka.config import Settings
from boka.migrations import PROJECT_ROOT
from boka.web.app import create_app
from tests.servers import free_port

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
NO_CHROMIUM = (
    "Debian's chromium is not installed (apt-get install chromium, or `make browser`); the "
    "browser tests never download a browser of their own."
)
ARTIFACTS = PROJECT_ROOT / "artifacts" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def chromium_missing() -> bool:
    return not Path(CHROMIUM).exists()


@contextmanager
def live_server(settings: Settings) -> Iterator[str]:
    """The real app (``create_app``) under uvicorn in a thread of its own; yields its URL."""
    port = free_port()
    app = create_app(settings.model_copy(update={"public_url": f"http://127.0.0.1:{port}"}))
    server = uvicorn.Server(uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=1
    ))
    thread = threading.Thread(target=server.run, name="page-server", daemon=True)
    thread.start()
    try:
        for _ in range(600):
            if server.started:
                break
            if not thread.is_alive():
                raise AssertionError("the page server did not start")
            threading.Event().wait(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@asynccontextmanager
async def chromium() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            await browser.close()


async def screenshot(page: Any, name: str) -> None:
    """Phone and desktop shots of the page as it is, for a reviewer (artifacts/, not committed)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    original = page.viewport_size
    for label, size in (("phone", PHONE), ("desktop", DESKTOP)):
        await page.set_viewport_size(size)
        await page.screenshot(path=str(ARTIFACTS / f"{name}-{label}.png"), full_page=True)
    await page.set_viewport_size(original)


def page_errors(page: Any) -> list[str]:
    """Collects the page's uncaught errors and console errors (a CSP violation is one)."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    return errors



class CuttableProxy:
    """A TCP proxy between the browser and the server whose connections the test can cut (a
    dropped socket, as a train tunnel does it) and hold off for a while."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.connections: set[asyncio.StreamWriter] = set()
        self.refusing = False
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{self.port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.refusing:
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self.connections.update((writer, up_writer))

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                sink.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self.connections.difference_update((writer, up_writer))

    def cut(self, *, refuse: bool) -> None:
        """Drop every open connection; with ``refuse``, new ones too until ``resume``."""
        self.refusing = refuse
        for writer in list(self.connections):
            writer.transport.abort()
        self.connections.clear()

    def resume(self) -> None:
        self.refusing = False

    async def close(self) -> None:
        self.cut(refuse=True)
        if self.server is not None:
            self.server.close()

AXE_SOURCE = PROJECT_ROOT / "tests" / "web" / "vendor" / "axe-core" / "axe.min.js"
SERIOUS = ("serious", "critical")


async def axe_violations(page: Any, *, impacts: tuple[str, ...] = SERIOUS) -> list[str]:
    """axe-core (vendored for the tests, never served by the app) run on the page as it is;
    the violations of the given impacts, each as "rule: help (targets)". The page's context
    needs ``bypass_csp=True``: the pages' policy rightly refuses a script the app did not serve."""
    if not await page.evaluate("() => Boolean(window.axe)"):
        await page.add_script_tag(path=str(AXE_SOURCE))
    result = await page.evaluate(
        "() => axe.run(document, {resultTypes: ['violations']})"
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(", ".join(node["target"]) for node in v["nodes"][:5])
        for v in result["violations"] if v["impact"] in impacts
    ]
