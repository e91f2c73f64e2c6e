"""Real headless Chromium for the page tests, and the real app served to it over TCP.

Playwright drives Debian's chromium (``/usr/bin/chromium``, which ``.ci/run`` and ``make
browser`` install): the tests never download a browser of their own. Without it they are
skipped with the reason. The server is the app as production runs it: PostgreSQL under row
level security, Redis for pub/sub, the event relay in the process (no worker here).
"""

from __future__ import annotations

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

