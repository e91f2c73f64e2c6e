"""Accounts: register a user, check a password."""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from boka.errors import UserErrorCode, UserInputError
from boka.identity.passwords import (
    check_password_strength,
    hash_password,
    needs_rehash,
    verify_password,
)
from boka.models.identity import User

# Deliberately permissive: one @, something on each side, a dot in the domain, no spaces.
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
INVALID_CREDENTIALS_MESSAGE = "Email or password is incorrect."


def normalize_email(email: str) -> str:
    normalized = email.strip().lower()
    if len(normalized) > 254 or not _EMAIL.match(normalized):
        raise UserInputError(UserErrorCode.INVALID_EMAIL, "Enter a valid email address.", "email")
    return normalized


async def register_user(
    db: AsyncSession, *, email: str, password: str, full_name: str = ""
) -> User:
    email = normalize_email(email)
    check_password_strength(password)
    if len(full_name) > 200:
        raise UserInputError(UserErrorCode.INVALID_INPUT, "Use at most 200 characters.", "fullName")
    if await find_user_by_email(db, email) is not None:
        raise _email_taken()
    user = User(email=email, password_hash=await hash_password(password), full_name=full_name.strip())
    try:
        async with db.begin_nested():
            db.add(user)
            await db.flush()
    except IntegrityError as exc:  # a concurrent registration won the race
        raise _email_taken() from exc
    return user


def _email_taken() -> UserInputError:
    return UserInputError(
        UserErrorCode.EMAIL_TAKEN, "An account with this email already exists.", "email"
    )


async def find_user_by_email(db: AsyncSession, email: str) -> User | None:
    return (await db.execute(sa.select(User).where(User.email == email))).scalar_one_or_none()


async def check_credentials(db: AsyncSession, *, email: str, password: str) -> User:
    """The user these credentials belong to, or INVALID_CREDENTIALS.

    Unknown email, wrong password and disabled account give the same answer after the same
    amount of work (one argon2 verification), so the response tells nothing about which it was.
    """
    try:
        email = normalize_email(email)
    except UserInputError:
        email = ""
    user = await find_user_by_email(db, email) if email else None
    password_ok = await verify_password(user.password_hash if user else None, password)
    if user is None or not password_ok or not user.is_active:
        raise UserInputError(UserErrorCode.INVALID_CREDENTIALS, INVALID_CREDENTIALS_MESSAGE)
    if user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = await hash_password(password)
    return user
