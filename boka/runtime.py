"""The long-lived things one Boka process shares: settings, database, Redis, rate limiter, the
job queue (RQ with Redis, in-process tasks in embedded mode) and the live layer (broadcast,
subscriptions' hub, relay)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta

from redis.asyncio import Redis

from boka.config import Settings
from boka.db import Database, create_background_engine, create_engine
from boka.events.live import Live
from boka.identity.cache import IdentityCache
from boka.identity.policy import IdentityPolicy
from boka.identity.rate_limits import (
    Limit,
    MemoryRateLimiter,
    RateLimiter,
    RateLimits,
    SharedRateLimiter,
)
from boka.identity.secret_box import SecretBox
from boka.jobs.inprocess import InProcessJobQueue
from boka.jobs.metrics import register_queue_depth
from boka.jobs.queues import JobQueue, RQJobQueue
from boka.notifications.delivery import Senders
from boka.observability import tracing
from boka.payments.providers import OnSiteProvider, PaymentProvider
from boka.persisted_queries import (
    MemoryQueryStore,
    PersistedQueries,
    RedisQueryStore,
    load_manifest,
)


@dataclass
class Runtime:
    settings: Settings
    database: Database
    redis: Redis | None
    rate_limiter: RateLimiter
    rate_limits: RateLimits
    identity: IdentityPolicy
    identity_cache: IdentityCache
    secret_box: SecretBox
    persisted_queries: PersistedQueries | None
    jobs: JobQueue
    live: Live
    payment_provider: PaymentProvider

    @classmethod
    def from_settings(cls, settings: Settings) -> Runtime:
        """Build the process's clients. Nothing connects until first use."""
        redis = (
            Redis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=5)
            if settings.redis_url
            else None
        )
        jobs: JobQueue = (
            RQJobQueue(settings.redis_url, failure_ttl=timedelta(days=settings.job_failure_ttl_days))
            if settings.redis_url
            else InProcessJobQueue()
        )
        database = Database(create_engine(settings), background_engine=create_background_engine(settings))
        if tracing.ENABLED:
            tracing.instrument_engine(database.engine)
            tracing.instrument_engine(database.background_engine)
        identity_cache = IdentityCache(ttl=settings.identity_cache_seconds, redis=redis)
        database.on_commit(identity_cache.after_commit)
        runtime = cls(
            settings=settings,
            database=database,
            redis=redis,
            rate_limiter=SharedRateLimiter(redis) if redis is not None else MemoryRateLimiter(),
            rate_limits=RateLimits(
                enabled=settings.rate_limits_enabled,
                auth=Limit("auth", settings.rate_limit_auth_per_minute, timedelta(minutes=1)),
                api=Limit("api", settings.rate_limit_api_per_hour, timedelta(hours=1), exact=False),
                admin=Limit("admin", settings.rate_limit_admin_per_hour, timedelta(hours=1)),
                api_cost_unit=settings.rate_limit_api_cost_unit,
                admin_setup=Limit("admin-setup", settings.rate_limit_admin_setup_per_hour,
                                  timedelta(hours=1)),
                setup_window=timedelta(hours=settings.rate_limit_setup_hours),
            ),
            identity=IdentityPolicy.from_settings(settings),
            identity_cache=identity_cache,
            secret_box=SecretBox.from_settings(settings),
            persisted_queries=persisted_queries_for(settings, redis),
            jobs=jobs,
            live=Live(settings, database),
            payment_provider=payment_provider_for(settings),
        )
        if isinstance(jobs, InProcessJobQueue):
            jobs.bind(runtime)
        register_queue_depth(jobs.depths)
        return runtime

    _senders: Senders | None = field(default=None, repr=False)

    @property
    def senders(self) -> Senders:
        """Email and SMS senders, made on first use (only processes that send need them)."""
        if self._senders is None:
            self._senders = Senders(self.settings)
        return self._senders

    @property
    def payment_hold(self) -> timedelta:
        return timedelta(seconds=self.settings.payment_hold_seconds)

    async def close(self) -> None:
        if self._senders is not None:
            await asyncio.to_thread(self._senders.close)
        await self.rate_limiter.close()
        await self.jobs.close()
        await self.database.dispose()
        if self.redis is not None:
            await self.redis.aclose()


def payment_provider_for(settings: Settings) -> PaymentProvider:
    """Stripe when a secret key is configured; otherwise paid services are paid on site."""
    if settings.stripe_secret_key:
        from boka.payments.stripe_provider import StripeProvider  # the stripe library: ~8 MiB

        return StripeProvider(
            settings.stripe_secret_key, api_base=settings.stripe_api_base,
            timeout=settings.stripe_timeout_seconds,
        )
    return OnSiteProvider()


def persisted_queries_for(settings: Settings, redis: Redis | None) -> PersistedQueries | None:
    if settings.persisted_queries == "off":
        return None
    if settings.persisted_queries == "allowlist":
        if not settings.persisted_queries_file:
            raise RuntimeError("BOKA_PERSISTED_QUERIES=allowlist needs BOKA_PERSISTED_QUERIES_FILE")
        return PersistedQueries(MemoryQueryStore(), allowlist=load_manifest(settings.persisted_queries_file))
    return PersistedQueries(RedisQueryStore(redis) if redis is not None else MemoryQueryStore())
