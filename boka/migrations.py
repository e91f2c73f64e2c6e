"""Running Alembic from code (the embedded server at start-up, the test fixtures)."""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config

from alembic import command

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
