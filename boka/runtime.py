"""The long-lived things one Boka process shares: settings, database, Redis."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from boka.config import Settings
from boka.db import Database, create_engine


@dataclass
class Runtime:
    settings: Settings
    database: Database
    redis: Redis | None

    @classmethod
    def from_settings(cls, settings: Settings) -> Runtime:
        """Build the process's clients. Nothing connects until first use."""
        redis = (
            Redis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=5)
            if settings.redis_url
            else None
        )
        return cls(settings=settings, database=Database(create_engine(settings)), redis=redis)

    async def close(self) -> None:
        await self.database.dispose()
        if self.redis is not None:
            await self.redis.aclose()
