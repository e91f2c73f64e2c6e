"""Running Alembic from code (the embedded server at start-up, the test fixtures, the deployment's
one-shot ``python -m boka.migrations``).

``python -m boka.migrations`` upgrades the database to head as the tables' owner
(``BOKA_MIGRATION_DATABASE_URL``, default ``BOKA_DATABASE_URL``). When the app connects as a
role of its own (the user in ``BOKA_DATABASE_URL`` differs), it then grants that role row
access to every table, including the ones this upgrade created (see boka/dbroles.py);
``--create-app-role`` first creates the role, with the password in ``BOKA_DATABASE_URL``,
if it does not exist.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from alembic.config import Config
from sqlalchemy.engine import make_url

from alembic import command
from boka.config import Settings, get_settings
from boka.dbroles import AppRoleError, app_role_of, background_role_of, grant_app_role

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def alembic_config(database_url: str) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    # Leave the caller's logging alone (alembic.ini would replace it).
    config.attributes["configure_logger"] = False
    return config


def upgrade_to_head(database_url: str) -> None:
    """Bring the database to the newest schema. Must not be called from a running event loop."""
    command.upgrade(alembic_config(database_url), "head")


def migrate(settings: Settings, *, create_app_role: bool = False) -> str | None:
    """Upgrade to head as the owner, then grant the app's own role (if it has one) and the
    background role (if it has one) their privileges; only the background role, or the app
    role when there is none, may see every tenant. Returns the app role's name. Must not be
    called from a running event loop."""
    upgrade_to_head(settings.migration_url)
    role = app_role_of(settings)
    background = background_role_of(settings)
    if role is not None:
        password = make_url(settings.database_url).password if create_app_role else None
        grant_app_role(settings.migration_url, role, password=password,
                       all_tenants=background is None or background == role)
    if background is not None and background != role:
        password = make_url(settings.background_url).password if create_app_role else None
        grant_app_role(settings.migration_url, background, password=password, all_tenants=True)
    return role


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m boka.migrations", description=__doc__)
    parser.add_argument(
        "--create-app-role",
        action="store_true",
        help="create the roles named in BOKA_DATABASE_URL and BOKA_BACKGROUND_DATABASE_URL "
        "(with their passwords) if they are missing",
    )
    args = parser.parse_args(argv)
    settings = get_settings()
    try:
        role = migrate(settings, create_app_role=args.create_app_role)
    except AppRoleError as error:
        print(f"boka.migrations: {error}", file=sys.stderr)
        return 1
    where = make_url(settings.migration_url).render_as_string(hide_password=True)
    print(f"Migrated {where} to head." + (f" Granted row access to role {role!r}." if role else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
