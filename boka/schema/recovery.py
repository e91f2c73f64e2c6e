"""GraphQL types of account recovery and email verification."""

from __future__ import annotations

import strawberry

from boka.schema.errors import UserError


@strawberry.input
class RequestPasswordResetInput:
    email: str


@strawberry.type
class RequestPasswordResetPayload:
    message: str | None = strawberry.field(
        default=None, description="The same whether or not the address has an account."
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class ResetPasswordInput:
    token: str = strawberry.field(description="From the reset link.")
    new_password: str
    mfa_code: str | None = strawberry.field(
        default=None, description="Needed when the account has two-factor authentication: a TOTP or backup code."
    )


@strawberry.type
class ResetPasswordPayload:
    password_reset: bool = strawberry.field(
        default=False, description="True when the password changed; every session of the account ended."
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class VerifyEmailInput:
    token: str = strawberry.field(description="From the verification link.")


@strawberry.type
class VerifyEmailPayload:
    verified: bool = False
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ResendVerificationPayload:
    sent: bool = strawberry.field(default=False, description="False when the address is verified already.")
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class ChangeMyEmailInput:
    new_email: str = strawberry.field(description="Gets a single-use link; the change happens when it is used.")
    password: str = strawberry.field(description="The account's current password.")
    mfa_code: str | None = strawberry.field(
        default=None, description="Needed when the account has two-factor authentication: a TOTP or backup code."
    )


@strawberry.type
class ChangeMyEmailPayload:
    message: str | None = strawberry.field(
        default=None, description="The same whether or not another account uses the new address."
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class ConfirmEmailChangeInput:
    token: str = strawberry.field(description="From the link mailed to the new address.")


@strawberry.type
class ConfirmEmailChangePayload:
    changed: bool = strawberry.field(
        default=False, description="True when the account took the new address; its other sessions ended."
    )
    email: str | None = strawberry.field(default=None, description="The account's address now.")
    errors: list[UserError] = strawberry.field(default_factory=list)
