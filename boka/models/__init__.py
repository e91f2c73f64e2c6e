"""SQLModel tables, one module per domain. Importing this package registers every table."""

from sqlmodel import SQLModel

# Deterministic constraint names, so Alembic migrations match on both dialects.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

from boka.models.identity import User, UserSession  # noqa: E402
from boka.models.tenancy import Role, Tenant, TenantUser  # noqa: E402

metadata = SQLModel.metadata

__all__ = ["Role", "Tenant", "TenantUser", "User", "UserSession", "metadata"]
