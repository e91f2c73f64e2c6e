"""Boka's ASGI app (``uvicorn app:app``) and the embedded server (``python app.py``)."""

from __future__ import annotations

import asyncio

import uvicorn

from boka.config import get_settings
from boka.db import Database, create_background_engine, create_engine
from boka.seed import DEMO_PASSWORD, DEMO_PEOPLE, DEMO_SLUG, seed_demo_tenant
from boka.web.app import create_app

app = create_app()


async def _seed() -> bool:
    settings = get_settings()
    database = Database(create_engine(settings), background_engine=create_background_engine(settings))
    try:
        return await seed_demo_tenant(database)
    finally:
        await database.dispose()


def main() -> None:
    from boka.migrations import migrate  # only the embedded server migrates (loads Alembic)

    settings = get_settings()
    migrate(settings)
    if settings.seed_demo:
        created = asyncio.run(_seed())
        base = f"http://localhost:{settings.port}"
        print(
            f"\nBoka is starting on {base} ({'new' if created else 'existing'} demo tenant).\n"
            f"  GraphiQL:  {base}/graphql  (the host 'localhost' selects the demo tenant;\n"
            f"             elsewhere send the header  X-Tenant: {DEMO_SLUG})\n"
            f"  Sign in:   mutation {{ signIn(input: {{email: \"{DEMO_PEOPLE[0].email}\", "
            f"password: \"{DEMO_PASSWORD}\"}}) {{ token errors {{ message }} }} }}\n"
            f"  Then:      {{ viewer {{ user {{ email }} tenant {{ name }} role }} }}\n"
            + (f"  Book:      {base}/book/{DEMO_SLUG}  (the public booking page)\n" if settings.web_pages else "")
            + "  Other demo accounts (same password): "
            + ", ".join(f"{p.email} ({p.role.value})" for p in DEMO_PEOPLE[1:])
            + "\n",
            flush=True,
        )
    # Forwarded headers are read by the app itself, from BOKA_TRUSTED_PROXIES only.
    uvicorn.run(app, host=settings.host, port=settings.port, log_config=None, access_log=False,
                proxy_headers=False)


if __name__ == "__main__":
    main()
