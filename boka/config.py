"""All of Boka's configuration, read once from the environment (prefix ``BOKA_``).

The defaults give the embedded mode: a SQLite file, in-memory broadcast and in-process jobs.
Setting ``BOKA_DATABASE_URL`` (postgresql+asyncpg://…) and ``BOKA_REDIS_URL`` switches to the
production stack with no code change.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

INSECURE_DEV_SECRET = "dev-insecure-secret-change-me"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BOKA_", extra="ignore")

    database_url: str = Field(
        "sqlite+aiosqlite:///./boka.db",
        description="SQLAlchemy async URL of the system of record.",
    )
    migration_database_url: str | None = Field(
        None,
        description="URL migrations connect with, as the tables' owner; unset = database_url. "
        "On PostgreSQL the app's own role (database_url) should own nothing, so that row level "
        "security binds it.",
    )
    background_database_url: str | None = Field(
        None,
        description="URL (PostgreSQL) of the role for work that must see every tenant: the relay, "
        "sweeps, superadmin listings, cross-tenant look-ups (Database.transaction(all_tenants=True)). "
        "Its role is made a member of boka_all_tenants; the role of database_url is not. Unset: "
        "database_url's role does that work too, and is made a member.",
    )
    redis_url: str | None = Field(
        None, description="Redis URL for fan-out, rate limits and queues; unset = embedded mode."
    )
    host: str = Field("127.0.0.1", description="Interface `python app.py` binds to.")
    port: int = Field(8000, description="Port `python app.py` listens on.")
    secret_key: str = Field(
        INSECURE_DEV_SECRET, description="Key for signed links and secrets at rest; set it in production."
    )
    graphiql: bool | None = Field(
        None, description="Serve the GraphiQL IDE on GET /graphql (to a browser asking for HTML). "
        "Unset: on in embedded mode (SQLite), off in production (PostgreSQL).",
    )
    public_introspection: bool | None = Field(
        None, description="Let anonymous callers introspect the schema (__schema, __type) and "
        "get \"Did you mean …?\" suggestions in validation errors. Unset: yes in embedded mode "
        "(SQLite), no in production (PostgreSQL); signed-in callers always may.",
    )
    web_pages: bool = Field(
        True, description="Serve the public booking page (/book/<slug>), the manage-booking "
        "page (/manage/<token>) and the staff calendar (/calendar); false for API-only deployments.",
    )
    seed_demo: bool = Field(True, description="`python app.py` seeds the demo tenant if missing.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO")
    otlp_endpoint: str | None = Field(
        None, description="OpenTelemetry collector to export traces to over OTLP/HTTP "
        "(http://collector:4318; /v1/traces is appended). Unset: the standard "
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT / OTEL_EXPORTER_OTLP_ENDPOINT, else tracing is off "
        "and nothing of it is installed.",
    )
    session_ttl_hours: int = Field(24 * 14, ge=1, description="Absolute lifetime of a session.")
    session_idle_minutes: int = Field(
        60 * 24 * 7, ge=1, description="A session unused this long expires (idle expiry)."
    )
    session_cookie_name: str = Field("boka_session")
    encryption_keys: str = Field(
        "",
        description="Comma-separated Fernet keys for secrets at rest (MFA secrets); the first "
        "encrypts, all decrypt, so keys can be rotated. Empty: derived from BOKA_SECRET_KEY.",
    )
    mfa_challenge_minutes: int = Field(5, ge=1, description="Time to enter the code after the password.")
    mfa_max_failures: int = Field(5, ge=1, description="Wrong codes in a row before MFA is blocked.")
    mfa_block_minutes: int = Field(15, ge=1, description="How long MFA stays blocked after that.")
    lockout_threshold: int = Field(5, ge=1, description="Failed sign-ins in a row that lock an account.")
    lockout_base_minutes: int = Field(15, ge=1, description="First lock; each next lock doubles.")
    lockout_max_minutes: int = Field(24 * 60, ge=1, description="Longest lock.")
    suspicious_failure_burst: int = Field(
        10, ge=2, description="Distinct accounts failing from one IP within 15 minutes that count as an attack."
    )
    cors_origins: str = Field(
        "", description="Comma-separated origins (https://app.example.com) of browser front ends "
        "allowed to call /graphql across origins (CORS, with credentials) and to open its "
        "websocket; they may also use the session cookie (the CSRF rule trusts them).",
    )
    trusted_origins: str = Field(
        "", description="Older name of cors_origins; both lists are merged.",
    )
    cors_max_age_seconds: int = Field(
        7200, ge=0, description="How long a browser may cache a CORS preflight's answer.",
    )
    cookie_secure: bool | None = Field(
        None, description="Mark the session cookie Secure (HTTPS only) and send HSTS. Unset: "
        "yes when BOKA_PUBLIC_URL is https://.",
    )
    max_body_bytes: int = Field(
        1024 * 1024, ge=1024, description="Largest request body /graphql reads (413 beyond)."
    )
    trusted_proxies: str = Field(
        "127.0.0.1",
        description="Comma-separated addresses or CIDRs of the proxies in front of Boka: only a "
        "request from one of them may name the client (X-Forwarded-For, X-Forwarded-Proto), and "
        "the client is then the rightmost address that is not one of them. Empty: trust none.",
    )
    db_pool_size: int = Field(10, ge=1, description="Connections per app process (PostgreSQL).")
    db_pool_timeout_seconds: float = Field(
        10, gt=0, description="How long a request waits for a free connection before it is "
        "answered SERVICE_UNAVAILABLE (HTTP 503 with Retry-After).",
    )
    db_echo: bool = Field(False, description="Log every SQL statement (debugging only).")
    query_max_depth: int = Field(12, ge=1, description="Deepest GraphQL selection accepted.")
    query_max_aliases: int = Field(30, ge=1, description="Most aliases in one GraphQL document.")
    query_max_tokens: int = Field(5000, ge=1, description="Most tokens in one GraphQL document.")
    query_max_cost: int = Field(
        50_000, ge=1, description="Largest estimated cost of a query (fields x page sizes, "
        "availability windows weighted; see boka/schema/cost.py), refused before it runs.",
    )
    persisted_queries: Literal["apq", "allowlist", "off"] = Field(
        "apq",
        description="apq: clients may send a query's SHA-256 instead of its text (Apollo's "
        "automatic persisted queries); allowlist: only the operations in "
        "BOKA_PERSISTED_QUERIES_FILE may run; off: neither.",
    )
    persisted_queries_file: str | None = Field(
        None, description="Manifest of allowed operations for the allowlist mode (Apollo's format or {sha256: query})."
    )
    idempotency_ttl_hours: int = Field(
        24, ge=1, description="How long the response to a mutation sent with an Idempotency-Key "
        "is kept and replayed to retries with the same key.",
    )
    idempotency_lock_seconds: int = Field(
        60, ge=1, description="How long a key's first request may run before a retry takes the "
        "key over (the first request's process died before storing its response).",
    )
    idempotency_wait_seconds: float = Field(
        10, ge=0, description="How long a retry waits for a concurrent request with its key to "
        "finish before it is answered IDEMPOTENCY_IN_PROGRESS (409).",
    )
    public_signup: bool | None = Field(
        None, description="Anyone may sign a business up (signUpBusiness). Default: on in the "
        "embedded mode (SQLite), off in production, where superadmins create tenants.",
    )
    password_reset_minutes: int = Field(30, ge=1, description="How long a password-reset link works.")
    email_verification_hours: int = Field(48, ge=1, description="How long an email-verification link works.")
    invitation_days: int = Field(7, ge=1, description="How long a team invitation link works.")
    rate_limits_enabled: bool = Field(True, description="Enforce the rate limits below.")
    rate_limit_auth_per_minute: int = Field(5, ge=1, description="Sign-in/registration tries per IP.")
    rate_limit_api_per_hour: int = Field(1000, ge=1, description="Requests per session (or IP).")
    rate_limit_admin_per_hour: int = Field(100, ge=1, description="Admin mutations per user.")
    rate_limit_admin_setup_per_hour: int = Field(
        1_000, ge=1, description="Admin mutations per user per hour while their business is new "
        "(its first BOKA_RATE_LIMIT_SETUP_HOURS): setting up a catalogue, staff, hours and "
        "assignments takes more than a running business's changes.",
    )
    rate_limit_setup_hours: int = Field(
        24, ge=0, description="How long after sign-up a business has the setup admin allowance.",
    )
    rate_limit_api_cost_unit: int = Field(
        1_000, ge=1, description="A GraphQL operation uses one request of the API allowance per "
        "this many units of its estimated cost (boka/schema/cost.py), at least one: a page of 100 "
        "bookings with their relations is one request, a 62-day availability window four.",
    )
    identity_cache_seconds: float = Field(
        30, ge=0, description="How long a process may reuse who a token or tenant hint names "
        "(cleared on every change to users, sessions, memberships, tenants or keys; 0 = off).",
    )
    relay_in_app: bool | None = Field(
        None,
        description="Run the event relay in the app process. Default: yes without Redis "
        "(embedded), no with Redis (worker.py runs it). Several relays are safe (one leads).",
    )
    relay_poll_seconds: float = Field(0.1, gt=0, description="How often the relay looks for new events.")
    rearm_check_seconds: float = Field(
        60, gt=0, description="How often each app process checks that the job store still holds "
        "what PostgreSQL says should be queued, re-arming it from the database if not.",
    )
    relay_max_attempts: int = Field(5, ge=1, description="Tries of a failing event consumer before it is passed over.")
    live_queue_size: int = Field(100, ge=1, description="Pushes a live subscriber may fall behind before it is dropped.")
    live_session_check_seconds: float = Field(
        30, gt=0, description="How often a live subscription re-checks that its session still lives."
    )
    webhook_timeout_seconds: float = Field(10, gt=0, description="Timeout of one webhook POST.")
    webhook_max_retries: int = Field(6, ge=0, description="Retries of a failed webhook delivery before it is dead.")
    webhook_retry_base_seconds: int = Field(
        30, ge=1, description="First retry delay of a webhook delivery; doubles each retry (at most 1 h)."
    )
    webhook_allow_private_targets: bool = Field(
        False, description="Let webhooks go to loopback/private addresses (local development, tests)."
    )
    webhook_disable_after_dead: int = Field(
        5, ge=1, description="Consecutive dead deliveries after which an endpoint is disabled."
    )
    calendar_feed_poll_seconds: int = Field(
        900, ge=60, description="How often each staff calendar feed (busy time from Google, Outlook, "
        "iCloud) is fetched again; the sweep that finds due feeds runs every minute.",
    )
    calendar_feed_timeout_seconds: float = Field(
        15, gt=0, description="Longest one calendar feed fetch may take, redirects and body included."
    )
    calendar_feed_max_bytes: int = Field(
        5_000_000, ge=1024, description="Largest calendar feed Boka reads; a larger one is refused."
    )
    calendar_feed_max_horizon_days: int = Field(
        366, ge=1, description="How far ahead a feed's busy time is stored, at most (else: the "
        "tenant's longest booking advance window). Private addresses are refused unless "
        "BOKA_WEBHOOK_ALLOW_PRIVATE_TARGETS is on, as for webhooks.",
    )
    worker_queues: str = Field("high,default,low", description="RQ queues the worker drains, by priority.")
    worker_concurrency: int = Field(
        8, ge=1, le=64, description="Jobs one worker process runs at a time (its lanes: RQ workers "
        "in threads sharing the process's event loop and Runtime). Keep below db_pool_size x 2.",
    )
    worker_metrics_port: int = Field(9100, description="Port of the worker's Prometheus endpoint.")
    public_url: str = Field(
        "http://localhost:8000", description="Base URL people reach Boka at (links in messages, feeds)."
    )
    smtp_host: str | None = Field(None, description="SMTP server for email; unset = email is not sent.")
    smtp_port: int = Field(587, description="SMTP port (587 STARTTLS, 465 implicit TLS, 25 plain).")
    smtp_username: str | None = Field(None, description="SMTP login, if the server wants one.")
    smtp_password: str | None = Field(None, description="SMTP password.")
    smtp_security: Literal["starttls", "ssl", "none"] = Field(
        "starttls", description="starttls (upgrade on connect), ssl (implicit TLS) or none."
    )
    smtp_ca_file: str | None = Field(
        None, description="CA bundle to verify the SMTP server with (a private relay); default: the system's."
    )
    smtp_timeout_seconds: float = Field(15, gt=0, description="Timeout of each SMTP operation.")
    email_from: str = Field("Boka <no-reply@localhost>", description="From address of every email.")
    dev_mailbox: bool | None = Field(
        None, description="Capture email and SMS in a local mailbox (/dev/mailbox) instead of "
        "sending them. Unset: on in the embedded mode (SQLite) for a channel with no provider "
        "configured; never otherwise unless set.",
    )
    dev_mailbox_dir: str = Field(".boka-mailbox", description="Where the dev mailbox keeps its messages.")
    twilio_account_sid: str | None = Field(None, description="Twilio account; unset = SMS is not sent.")
    twilio_auth_token: str | None = Field(None, description="Twilio auth token.")
    twilio_from_number: str | None = Field(None, description="Sender number (E.164) for SMS.")
    twilio_base_url: str | None = Field(
        None, description="Send Twilio API calls here instead of https://api.twilio.com (tests)."
    )
    twilio_timeout_seconds: float = Field(15, gt=0, description="Timeout of each Twilio API call.")
    default_language: str = Field("en", description="Language of messages when neither customer nor tenant has one.")
    worker_ttl_seconds: int = Field(
        75, ge=16, description="A worker not heard from for this long is dead; an idle worker "
        "wakes every (ttl - 15) s to run maintenance."
    )
    worker_maintenance_seconds: int = Field(
        60, ge=1, description="How often a worker cleans RQ's registries (recovers abandoned jobs)."
    )
    worker_job_monitoring_seconds: int = Field(
        30, ge=1, description="How often a worker heartbeats the job it is running."
    )
    worker_abandoned_grace_seconds: int = Field(
        60, ge=1, description="A running job whose heartbeat is this much overdue was abandoned "
        "(its worker died) and is retried or failed by the next registry cleanup."
    )
    stripe_secret_key: str | None = Field(
        None, description="Stripe secret API key; unset = paid services are paid on site."
    )
    stripe_webhook_secret: str | None = Field(
        None, description="Signing secret of the /webhooks/stripe endpoint (whsec_…)."
    )
    stripe_api_base: str | None = Field(
        None, description="Stripe API base URL; unset = Stripe's own (tests point it at localstripe)."
    )
    stripe_timeout_seconds: float = Field(10.0, gt=0, description="Timeout of one Stripe request.")
    stripe_publishable_key: str | None = Field(
        None,
        description="Stripe publishable key (pk_…) the booking page gives Stripe.js for the Payment "
        "Element; unset = the page cannot take card payments (it says so).",
    )
    stripe_js_url: str = Field(
        "https://js.stripe.com/v3/",
        description="Where the booking page loads Stripe.js from (tests point it at localstripe's "
        "fake); its origin is what the page's Content-Security-Policy allows.",
    )
    payment_hold_seconds: int = Field(
        900, ge=1, description="How long an unpaid booking holds its slot before it expires."
    )
    hold_minutes: int = Field(
        10, ge=1, le=24 * 60,
        description="How long holdSlot holds a slot (or seats) for a checkout before it expires.",
    )
    hold_max_open: int = Field(
        3, ge=1, le=100,
        description="Checkout holds one holder (a signed-in user, an API key, a guest's IP address) "
        "may have open at once in a business.",
    )
    job_failure_ttl_days: int = Field(
        30, ge=1, description="How long failed jobs stay in the failed registry for inspection."
    )

    def check_secret_key(self) -> None:
        """Refuse to serve a real deployment with the published development key: guest booking
        links are signed with it, so anyone could forge them."""
        if not self.is_sqlite and self.secret_key == INSECURE_DEV_SECRET:
            raise RuntimeError(
                "BOKA_SECRET_KEY is the development default; set a secret of your own "
                "(e.g. `openssl rand -hex 32`) before running against PostgreSQL."
            )

    @property
    def migration_url(self) -> str:
        """Where migrations run: the owner's URL, or the app's when no separate one is set."""
        return self.migration_database_url or self.database_url

    @property
    def background_url(self) -> str:
        """Where all-tenant work connects: its own role's URL, or the app's."""
        return self.background_database_url or self.database_url

    @property
    def runs_relay_in_app(self) -> bool:
        return self.relay_in_app if self.relay_in_app is not None else not self.redis_url

    def captures(self, provider_configured: bool) -> bool:
        """Whether a message of a channel goes to the dev mailbox instead of its provider."""
        if self.dev_mailbox is not None:
            return self.dev_mailbox
        return self.is_sqlite and not provider_configured

    @property
    def dev_mailbox_possible(self) -> bool:
        """Whether /dev/mailbox is served: never in production unless explicitly set."""
        return self.dev_mailbox if self.dev_mailbox is not None else self.is_sqlite

    @property
    def public_signup_open(self) -> bool:
        return self.public_signup if self.public_signup is not None else self.is_sqlite

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def trusted_origin_set(self) -> frozenset[str]:
        """The browser origins allowed across origins: CORS, the websocket's Origin check and
        the CSRF rule for the session cookie all use this one list."""
        listed = f"{self.cors_origins},{self.trusted_origins}".split(",")
        return frozenset(o.strip().rstrip("/") for o in listed if o.strip())

    @property
    def serves_graphiql(self) -> bool:
        return self.graphiql if self.graphiql is not None else self.is_sqlite

    @property
    def anonymous_introspection(self) -> bool:
        return self.public_introspection if self.public_introspection is not None else self.is_sqlite

    @property
    def secure_cookies(self) -> bool:
        if self.cookie_secure is not None:
            return self.cookie_secure
        return self.public_url.lower().startswith("https://")

    @property
    def queue_names(self) -> list[str]:
        return [name.strip() for name in self.worker_queues.split(",") if name.strip()]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use."""
    return Settings()
