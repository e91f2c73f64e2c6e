"""The operators' command line: ``python -m boka <command>``.

Commands: create-tenant, create-superadmin, list-tenants, migrate, seed-demo, send-test-email.
Each reads the same BOKA_ settings as the app and calls the same domain functions (sign-up,
accounts, the platform listing, the seed, migrations, the email sender); none has rules of
its own. Passwords are never arguments: they are prompted for (without echo) or read from the
first line of standard input with ``--password-stdin``.

Exit codes: 0 done; 2 usage (bad arguments, or a value the domain refuses as malformed: a bad
email, a weak password, a bad slug); 1 failure (it could not be done: a slug or email already
taken, the database or mail server unreachable). Expected failures print one line to standard
error, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import smtplib
import socket
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import TextIO

import sqlalchemy.exc
from sqlalchemy.engine import make_url

from boka.config import Settings, get_settings
from boka.errors import UserErrorCode, UserInputError

OK, FAILURE, USAGE = 0, 1, 2
# A value that is already taken cannot be fixed by calling differently: a failure, not usage.
_CONFLICTS = frozenset({UserErrorCode.SLUG_TAKEN, UserErrorCode.EMAIL_TAKEN, UserErrorCode.ALREADY_MEMBER})
PROG = "python -m boka"
# The domain names fields as the API does; the command line says which option was at fault.
_OPTIONS = {
    "businessName": "--name", "slug": "--slug", "timeZone": "--time-zone", "currency": "--currency",
    "country": "--country", "locale": "--locale", "owner.email": "--owner-email",
    "owner.firstName": "--owner-first-name", "owner.lastName": "--owner-last-name",
    "owner.password": "password", "password": "password", "email": "--email", "fullName": "--full-name",
}


class CommandFailed(Exception):
    """An expected failure: its message is printed, the exit code returned."""

    def __init__(self, message: str, code: int = FAILURE) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


# --- passwords ------------------------------------------------------------------------------

def read_password(args: argparse.Namespace, stdin: TextIO) -> str:
    if args.password_stdin:
        line = stdin.readline()
        password = line.rstrip("\r\n")
        if not password:
            raise CommandFailed("--password-stdin: standard input had no password on its first line.", USAGE)
        return password
    if not stdin.isatty():
        raise CommandFailed("No terminal to ask for the password on: pipe it in with --password-stdin.", USAGE)
    password = getpass.getpass("Password: ")
    if password != getpass.getpass("Password (again): "):
        raise CommandFailed("The two passwords differ.", USAGE)
    return password


# --- commands -------------------------------------------------------------------------------

async def create_tenant(args: argparse.Namespace, settings: Settings, stdin: TextIO) -> int:
    from boka.business.signup import BusinessInput, OwnerInput, sign_up_business
    from boka.identity.devices import DeviceInfo
    from boka.identity.principal import Principal
    from boka.notifications.account_mail import AccountMail, send_account_mail
    from boka.notifications.kinds import AccountMailKind
    from boka.runtime import Runtime

    password = read_password(args, stdin)
    details = BusinessInput(
        business_name=args.name, time_zone=args.time_zone, currency=args.currency, slug=args.slug,
        country=args.country, locale=args.locale,
        owner=OwnerInput(args.owner_email, password, args.owner_first_name, args.owner_last_name),
    )
    runtime = Runtime.from_settings(settings)
    try:
        async with runtime.database.transaction(write=True) as db:
            made = await sign_up_business(
                db, Principal(), details, device=DeviceInfo(ip_address=None, user_agent="boka-cli"),
                session_ttl=runtime.identity.session_ttl,
                verification_ttl=timedelta(hours=settings.email_verification_hours),
                start_owner_session=False,
            )
        print(f"Created tenant {made.tenant.slug!r} ({made.tenant.name}), id {made.tenant.id}; "
              f"owner {made.owner.email}.")
        if made.verification_token and not args.no_email:
            outcome = await send_account_mail(runtime, AccountMail(
                kind=AccountMailKind.VERIFY_EMAIL, to=made.owner.email, token=made.verification_token,
                tenant_id=made.tenant.id, business_name=made.tenant.name,
            ))
            if outcome is None:
                print("Email is not configured (BOKA_SMTP_HOST): no verification mail was sent.")
            else:
                print(f"Verification mail to {made.owner.email}: {outcome.value}.")
    finally:
        await runtime.close()
    return OK


async def create_superadmin(args: argparse.Namespace, settings: Settings, stdin: TextIO) -> int:
    from boka.identity.accounts import find_user_by_email, normalize_email, register_user
    from boka.runtime import Runtime

    email = normalize_email(args.email)
    runtime = Runtime.from_settings(settings)
    try:
        async with runtime.database.transaction(write=True) as db:
            existing = await find_user_by_email(db, email)
            if existing is not None:
                if not args.promote:
                    raise CommandFailed(
                        f"An account with {email} already exists: pass --promote to make it a superadmin.")
                existing.is_superadmin = True
                print(f"{email} is now a superadmin.")
                return OK
        password = read_password(args, stdin)
        async with runtime.database.transaction(write=True) as db:
            user = await register_user(db, email=email, password=password, full_name=args.full_name or "")
            user.is_superadmin = True
        print(f"Created superadmin {email}, id {user.id}.")
    finally:
        await runtime.close()
    return OK


async def list_tenants(args: argparse.Namespace, settings: Settings, stdin: TextIO) -> int:
    from boka.business.platform import TenantFilter, TenantStatus, count_for_tenants
    from boka.business.platform import list_tenants as platform_list_tenants
    from boka.runtime import Runtime

    runtime = Runtime.from_settings(settings)
    rows = []
    try:
        status = TenantStatus(args.status) if args.status else None
        after = None
        async with runtime.database.transaction(all_tenants=True) as db:
            while True:  # every page (or up to --limit)
                page = await platform_list_tenants(
                    db, TenantFilter(search=args.search, status=status), first=min(args.limit - len(rows), 500),
                    after=after)
                counts = await count_for_tenants(db, [tenant.id for tenant in page.items])
                rows.extend((tenant, counts[tenant.id]) for tenant in page.items)
                if not page.has_next or len(rows) >= args.limit:
                    break
                after = page.cursors[-1]
    finally:
        await runtime.close()
    header = ("SLUG", "STATUS", "BOOKINGS", "CUSTOMERS", "STAFF", "MEMBERS", "CREATED", "NAME")
    table = [header] + [
        (t.slug, "suspended" if t.suspended_at else "active", str(c.bookings), str(c.customers),
         str(c.staff), str(c.members), t.created_at.date().isoformat(), t.name)
        for t, c in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header) - 1)]
    for row in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[-1])
    return OK


async def seed_demo(args: argparse.Namespace, settings: Settings, stdin: TextIO) -> int:
    from boka.runtime import Runtime
    from boka.seed import DEMO_PEOPLE, DEMO_SLUG, seed_demo_tenant

    runtime = Runtime.from_settings(settings)
    try:
        created = await seed_demo_tenant(runtime.database)
    finally:
        await runtime.close()
    if created:
        print(f"Created the demo tenant {DEMO_SLUG!r} with {len(DEMO_PEOPLE)} people "
              "(password in boka/seed.py, DEMO_PASSWORD).")
    else:
        print(f"The demo tenant {DEMO_SLUG!r} exists already; nothing changed.")
    return OK


async def send_test_email(args: argparse.Namespace, settings: Settings, stdin: TextIO) -> int:
    from boka.identity.accounts import normalize_email
    from boka.notifications.email import OutgoingEmail, SmtpEmailSender

    to = normalize_email(args.to)
    if not settings.smtp_host:
        raise CommandFailed("Email is not configured: set BOKA_SMTP_HOST (and BOKA_SMTP_PORT, "
                            "BOKA_SMTP_SECURITY, BOKA_EMAIL_FROM).")
    sender = SmtpEmailSender(settings)
    try:
        message_id = await sender.send(OutgoingEmail(
            to=to, subject="Boka test email",
            body=f"This is a test email from Boka at {settings.public_url}.\n"
                 "If you can read it, outgoing mail works.\n",
        ))
    except (smtplib.SMTPException, OSError) as error:
        raise CommandFailed(f"The mail server {settings.smtp_host}:{settings.smtp_port} did not take "
                            f"the message: {_describe(error)}") from error
    finally:
        sender.close()
    print(f"Sent a test email to {to} through {settings.smtp_host}:{settings.smtp_port} ({message_id}).")
    return OK


def migrate(args: argparse.Namespace, settings: Settings, stdin: TextIO) -> int:
    from boka.dbroles import AppRoleError
    from boka.migrations import migrate as run_migrations

    try:
        role = run_migrations(settings, create_app_role=args.create_app_role)
    except AppRoleError as error:
        raise CommandFailed(str(error)) from error
    where = make_url(settings.migration_url).render_as_string(hide_password=True)
    print(f"Migrated {where} to head." + (f" Granted row access to role {role!r}." if role else ""))
    return OK


# --- the parser -----------------------------------------------------------------------------

Command = Callable[[argparse.Namespace, Settings, TextIO], "Awaitable[int] | int"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Boka's operator commands. Settings come from BOKA_ environment "
        "variables, as for the app.", epilog="Exit codes: 0 done, 1 failed, 2 usage.")
    commands = parser.add_subparsers(dest="command", metavar="<command>", required=True)

    def password_option(command: argparse.ArgumentParser) -> None:
        command.add_argument("--password-stdin", action="store_true",
                             help="read the password from the first line of standard input "
                                  "(else it is prompted for, twice, without echo)")

    tenant = commands.add_parser("create-tenant", help="create a business (tenant) and its owner's account",
                                 description="Create a tenant and its owner, as signUpBusiness does; "
                                 "the owner is mailed an email verification link.")
    tenant.add_argument("--name", required=True, help="the business's name")
    tenant.add_argument("--slug", help="its name in addresses (default: made from --name)")
    tenant.add_argument("--time-zone", default="UTC", help="IANA time zone (default UTC)")
    tenant.add_argument("--currency", default="EUR", help="ISO 4217 code (default EUR)")
    tenant.add_argument("--country", help="ISO 3166 country code")
    tenant.add_argument("--locale", help="e.g. de-DE")
    tenant.add_argument("--owner-email", required=True, help="the owner's email (a new account)")
    tenant.add_argument("--owner-first-name", required=True)
    tenant.add_argument("--owner-last-name", required=True)
    tenant.add_argument("--no-email", action="store_true", help="do not send the verification mail")
    password_option(tenant)
    tenant.set_defaults(run=create_tenant)

    admin = commands.add_parser("create-superadmin", help="create a platform administrator account",
                                description="Create an account that administers every tenant.")
    admin.add_argument("--email", required=True)
    admin.add_argument("--full-name", default="")
    admin.add_argument("--promote", action="store_true",
                       help="if the account exists, make it a superadmin (no password asked)")
    password_option(admin)
    admin.set_defaults(run=create_superadmin)

    listing = commands.add_parser("list-tenants", help="list tenants with their counts",
                                  description="Every tenant, oldest first, with its bookings, "
                                  "customers, staff and members.")
    listing.add_argument("--search", help="only tenants whose name, slug or domain contains this")
    listing.add_argument("--status", choices=["active", "suspended"])
    listing.add_argument("--limit", type=_positive, default=1000, help="at most this many (default 1000)")
    listing.set_defaults(run=list_tenants)

    migration = commands.add_parser("migrate", help="upgrade the database to the newest schema",
                                    description="As `python -m boka.migrations`: upgrade as "
                                    "BOKA_MIGRATION_DATABASE_URL, then grant the app's roles.")
    migration.add_argument("--create-app-role", action="store_true",
                           help="create the roles named in BOKA_DATABASE_URL and "
                                "BOKA_BACKGROUND_DATABASE_URL if they are missing")
    migration.set_defaults(run=migrate)

    seed = commands.add_parser("seed-demo", help="create the demo tenant (idempotent)",
                               description="Create the demo tenant 'demo' and its people unless it exists.")
    seed.set_defaults(run=seed_demo)

    mail = commands.add_parser("send-test-email", help="send one email through the configured SMTP server",
                               description="Check outgoing mail: send a test message through BOKA_SMTP_HOST.")
    mail.add_argument("--to", required=True, help="the recipient's address")
    mail.set_defaults(run=send_test_email)
    return parser


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _describe(error: BaseException) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _database_unreachable(error: BaseException, settings: Settings) -> CommandFailed:
    where = make_url(settings.database_url).render_as_string(hide_password=True)
    cause = error.orig if isinstance(error, sqlalchemy.exc.DBAPIError) and error.orig else error
    return CommandFailed(f"The database at {where} is unreachable: {_describe(cause)}")


def main(argv: Sequence[str] | None = None, stdin: TextIO | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # exits 2 with the usage on bad arguments
    stdin = stdin or sys.stdin
    try:
        settings = get_settings()
        outcome = args.run(args, settings, stdin)
        code = asyncio.run(outcome) if asyncio.iscoroutine(outcome) else outcome
    except CommandFailed as failed:
        print(f"{PROG} {args.command}: {failed.message}", file=sys.stderr)
        return failed.code
    except UserInputError as refused:
        errors = getattr(refused, "errors", None) or [refused]
        for error in errors:
            where = f"{_OPTIONS.get(error.field, error.field)}: " if error.field else ""
            print(f"{PROG} {args.command}: {where}{error.message} ({error.code.value})", file=sys.stderr)
        return FAILURE if all(error.code in _CONFLICTS for error in errors) else USAGE
    except (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError, ConnectionError,
            socket.gaierror, TimeoutError) as error:
        failed = _database_unreachable(error, settings)
        print(f"{PROG} {args.command}: {failed.message}", file=sys.stderr)
        return FAILURE
    except KeyboardInterrupt:
        print(f"{PROG} {args.command}: interrupted.", file=sys.stderr)
        return FAILURE
    except Exception as error:  # noqa: BLE001 - unexpected: one line, not a traceback
        print(f"{PROG} {args.command}: failed: {_describe(error)}", file=sys.stderr)
        return FAILURE
    return int(code)
