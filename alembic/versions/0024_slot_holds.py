"""Slot holds for any checkout: ``slot_holds`` says until when a pending booking holds its time
and who may book it; a checkout hold's booking has no customer until it is booked, so
``bookings.customer_id`` becomes nullable (only while pending, or once such a hold ended:
cancelled). Unpaid bookings holding their slot today get their hold row, from their payment's
expiry, so one job and one sweep expire every hold from now on.

The analytics rollup (0018's ``analytics_rollup_write``) leaves out bookings of no customer, as
the raw computation now does: an open checkout hold is nobody's booking (and its NULL customer
could not enter ``analytics_customer_visits``).

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-01 02:20:00.000000
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op

from frozen_rls_0014 import disable_tenant_isolation, enable_tenant_isolation

revision: str = '0024'
down_revision: str | None = '0023'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# 0018's function, and the places where it reads bookings, each given the customer filter.
_HELD_OUT = (
    ("      FROM bookings b\n      WHERE b.tenant_id = $1 AND %s\n",
     "      FROM bookings b\n      WHERE b.tenant_id = $1 AND b.customer_id IS NOT NULL AND %s\n"),
    ("FROM bookings WHERE tenant_id = p_tenant AND status <> 'cancelled') AS seen",
     "FROM bookings WHERE tenant_id = p_tenant AND status <> 'cancelled'\n"
     "            AND customer_id IS NOT NULL) AS seen"),
    ("    SELECT customer_id FROM bookings\n    WHERE tenant_id = p_tenant AND start_time >= v_lo",
     "    SELECT customer_id FROM bookings\n    WHERE tenant_id = p_tenant AND customer_id IS NOT NULL"
     "\n      AND start_time >= v_lo"),
)


def _rollup_write_function(*, held_out: bool) -> str:
    path = Path(__file__).with_name('0018_analytics_rollup.py')
    spec = importlib.util.spec_from_file_location('boka_migration_0018', path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    function = module.WRITE_FUNCTION.replace('CREATE FUNCTION', 'CREATE OR REPLACE FUNCTION', 1)
    if held_out:
        for before, after in _HELD_OUT:
            assert function.count(before) == 1, before
            function = function.replace(before, after)
    return function


def upgrade() -> None:
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.alter_column('customer_id', existing_type=sa.Uuid(), nullable=True)
        batch_op.create_check_constraint(
            op.f('ck_bookings_customer_unless_held'),
            "customer_id IS NOT NULL OR status IN ('pending', 'cancelled')",
        )
    op.create_table('slot_holds',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('booking_id', sa.Uuid(), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('token_digest', sa.String(length=64), nullable=True),
    sa.Column('holder', sa.String(length=200), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('booked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("purpose IN ('checkout', 'payment')", name=op.f('ck_slot_holds_purpose')),
    sa.CheckConstraint("status IN ('open', 'converted', 'released', 'expired')", name=op.f('ck_slot_holds_status')),
    sa.ForeignKeyConstraint(['booking_id'], ['bookings.id'], name=op.f('fk_slot_holds_booking_id_bookings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_slot_holds_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_slot_holds')),
    sa.UniqueConstraint('booking_id', name=op.f('uq_slot_holds_booking_id')),
    sa.UniqueConstraint('token_digest', name=op.f('uq_slot_holds_token_digest'))
    )
    op.create_index('ix_slot_holds_status_expires_at', 'slot_holds', ['status', 'expires_at'], unique=False)
    op.create_index('ix_slot_holds_holder_status', 'slot_holds', ['tenant_id', 'holder', 'status'], unique=False)
    enable_tenant_isolation('slot_holds')
    # Every unpaid booking payment that holds its slot now: its hold (one per booking).
    uuid_expression = (
        "gen_random_uuid()" if op.get_bind().dialect.name == 'postgresql'
        else "lower(hex(randomblob(16)))"
    )
    op.execute(f"""
        INSERT INTO slot_holds (id, tenant_id, booking_id, purpose, status, expires_at, created_at, booked_at)
        SELECT {uuid_expression}, p.tenant_id, p.booking_id, 'payment', 'open', MIN(p.expires_at),
               MIN(p.created_at), MIN(p.created_at)
        FROM payments p JOIN bookings b ON b.id = p.booking_id
        WHERE p.kind = 'booking' AND p.status IN ('pending', 'failed') AND p.expires_at IS NOT NULL
          AND b.status = 'pending'
        GROUP BY p.tenant_id, p.booking_id
    """)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(_rollup_write_function(held_out=True))


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(_rollup_write_function(held_out=False))
    disable_tenant_isolation('slot_holds')
    op.drop_index('ix_slot_holds_holder_status', table_name='slot_holds')
    op.drop_index('ix_slot_holds_status_expires_at', table_name='slot_holds')
    op.drop_table('slot_holds')
    op.execute("DELETE FROM bookings WHERE customer_id IS NULL")
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_bookings_customer_unless_held'), type_='check')
        batch_op.alter_column('customer_id', existing_type=sa.Uuid(), nullable=False)
