"""Analytics rollup (issue 17): per-tenant, per-local-day sums of the figures, kept exact by
dirty-day marks that triggers write in the same transaction as every booking, payment and
refund change, folded into the rollup by ``analytics_rollup_refresh(tenant)``.

PostgreSQL only (SQLite answers analytics from the bookings themselves, see
boka/analytics/rollup.py). Tables, none in the SQLModel metadata (alembic/env.py leaves them
out of the drift check: ``datemultirange`` has no portable type):

- ``analytics_rollup_state``: per tenant, the zone its days were cut in; analytics uses the
  rollup only for a period in that zone. A tenant whose zone changed is rebuilt on refresh.
- ``analytics_daily``: sums per (tenant, local day, grain, staff, service, status, currency).
  Grains: ``both`` (staff and service: a staff member's own figures), ``service`` (the
  tenant's buckets and services), ``staff`` (the tenant's staff), ``staff_month`` (the
  ``staff`` rows summed per local month, ``day`` its first day: a year's staff figures from
  twelve months of rows), ``session`` (each class session's length once per staff member and
  day).
- ``analytics_customer_visits``: per customer, the local days with a booking not cancelled
  (new vs returning customers).
- ``analytics_dirty_days``: UTC dates whose bookings (or their payments and refunds) changed
  since the rollup last saw them. A UTC date covers the local days before, on and after it in
  any zone. ``generation`` grows with every mark, so a refresh removes only marks it saw.

The tenant policies are written out here (the same statements as boka/rls.py produces), and
the backfill is ``analytics_rollup_rebuild`` for every tenant.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30 23:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("analytics_rollup_state", "analytics_daily", "analytics_customer_visits",
          "analytics_dirty_days")

CREATE_TABLES = """
CREATE TABLE analytics_rollup_state (
    tenant_id uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    time_zone text NOT NULL,
    built_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE analytics_daily (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    day date NOT NULL,
    grain text NOT NULL CHECK (grain IN ('both', 'service', 'staff', 'staff_month', 'session')),
    staff_id uuid,
    service_id uuid,
    status text NOT NULL DEFAULT '',
    currency text NOT NULL DEFAULT '',
    bookings integer NOT NULL DEFAULT 0,
    list_cents bigint NOT NULL DEFAULT 0,
    charged_cents bigint NOT NULL DEFAULT 0,
    private_time interval,
    lead_time interval,
    collected_cents bigint NOT NULL DEFAULT 0,
    refunded_cents bigint NOT NULL DEFAULT 0,
    money_entries integer NOT NULL DEFAULT 0,
    session_time interval
);
CREATE INDEX ix_analytics_daily_tenant_grain_day ON analytics_daily (tenant_id, grain, day);
CREATE INDEX ix_analytics_daily_staff_day ON analytics_daily (staff_id, day)
    WHERE grain IN ('both', 'session');
CREATE TABLE analytics_customer_visits (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    customer_id uuid NOT NULL,
    visits datemultirange NOT NULL,
    PRIMARY KEY (tenant_id, customer_id)
);
CREATE TABLE analytics_dirty_days (
    tenant_id uuid NOT NULL,
    utc_day date NOT NULL,
    generation bigint NOT NULL DEFAULT 1,
    PRIMARY KEY (tenant_id, utc_day)
);
"""

POLICY = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid"
ALL_TENANTS = "current_setting('app.all_tenants', true) = 'on'"


def policies(table: str) -> str:
    return f"""
ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
ALTER TABLE {table} FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON {table} AS PERMISSIVE FOR ALL
    USING ({POLICY}) WITH CHECK ({POLICY});
CREATE POLICY all_tenants ON {table} AS PERMISSIVE FOR ALL TO boka_all_tenants
    USING ({ALL_TENANTS}) WITH CHECK ({ALL_TENANTS});
"""


# Marks: a statement trigger per table and operation (transition tables: one upsert per
# statement, however many rows it wrote). Payments and refunds mark their booking's date.
MARK_FUNCTIONS = """
CREATE FUNCTION analytics_mark_bookings() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    INSERT INTO analytics_dirty_days (tenant_id, utc_day)
    SELECT DISTINCT tenant_id, (start_time AT TIME ZONE 'UTC')::date FROM new_rows
    ON CONFLICT (tenant_id, utc_day)
    DO UPDATE SET generation = analytics_dirty_days.generation + 1;
  END IF;
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    INSERT INTO analytics_dirty_days (tenant_id, utc_day)
    SELECT DISTINCT tenant_id, (start_time AT TIME ZONE 'UTC')::date FROM old_rows
    ON CONFLICT (tenant_id, utc_day)
    DO UPDATE SET generation = analytics_dirty_days.generation + 1;
  END IF;
  RETURN NULL;
END $$;

-- next
CREATE FUNCTION analytics_mark_money() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    INSERT INTO analytics_dirty_days (tenant_id, utc_day)
    SELECT DISTINCT b.tenant_id, (b.start_time AT TIME ZONE 'UTC')::date
    FROM new_rows m JOIN bookings b ON b.id = m.booking_id
    ON CONFLICT (tenant_id, utc_day)
    DO UPDATE SET generation = analytics_dirty_days.generation + 1;
  END IF;
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    INSERT INTO analytics_dirty_days (tenant_id, utc_day)
    SELECT DISTINCT b.tenant_id, (b.start_time AT TIME ZONE 'UTC')::date
    FROM old_rows m JOIN bookings b ON b.id = m.booking_id
    ON CONFLICT (tenant_id, utc_day)
    DO UPDATE SET generation = analytics_dirty_days.generation + 1;
  END IF;
  RETURN NULL;
END $$;
"""


def mark_triggers(table: str, function: str) -> str:
    return f"""
CREATE TRIGGER analytics_mark_insert AFTER INSERT ON {table}
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {function}();
CREATE TRIGGER analytics_mark_update AFTER UPDATE ON {table}
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION {function}();
CREATE TRIGGER analytics_mark_delete AFTER DELETE ON {table}
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION {function}();
"""


# analytics_rollup_write(tenant, zone, days): the rollup rows of the local days ``days`` (NULL:
# every day) recomputed from the bookings, payments and refunds, with the same definitions as
# boka/analytics/queries.py (the raw computation, the tests' oracle), and the visits of every
# customer who had (per the rollup) or has (per the bookings) a booking on one of those days.
WRITE_FUNCTION = r"""
CREATE FUNCTION analytics_rollup_write(p_tenant uuid, p_zone text, p_days date[])
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v_filter text;
  v_lo timestamptz;
  v_hi timestamptz;
  v_customers uuid[];
  v_months date[];
BEGIN
  IF p_days IS NULL THEN
    DELETE FROM analytics_daily WHERE tenant_id = p_tenant;
    v_filter := 'TRUE';
  ELSE
    DELETE FROM analytics_daily WHERE tenant_id = p_tenant AND day = ANY (p_days);
    -- A local day's instants lie within its UTC date, the one before and the one after.
    SELECT (min(d) - 1)::timestamp AT TIME ZONE 'UTC', (max(d) + 2)::timestamp AT TIME ZONE 'UTC'
      INTO v_lo, v_hi FROM unnest(p_days) AS d;
    v_filter := 'b.start_time >= $4 AND b.start_time < $5'
             || ' AND (timezone($2, b.start_time))::date = ANY ($3)';
  END IF;

  EXECUTE format($sql$
    WITH b AS (
      SELECT b.id, (timezone($2, b.start_time))::date AS day, b.service_id, b.staff_id,
             b.status, b.currency, b.slot_key,
             coalesce(b.list_price_cents, b.price_cents) AS list_cents,
             b.price_cents AS charged_cents,
             CASE WHEN b.slot_key NOT LIKE '%%:%%' THEN b.end_time - b.start_time END
               AS private_time,
             b.start_time - b.created_at AS lead_time,
             b.end_time - b.start_time AS length
      FROM bookings b
      WHERE b.tenant_id = $1 AND %s
    ),
    facts AS (
      SELECT day, service_id, staff_id, status, currency, 1 AS bookings, list_cents,
             charged_cents, private_time, lead_time, 0::bigint AS collected,
             0::bigint AS refunded, 0 AS money_entries
      FROM b
      UNION ALL
      SELECT b.day, b.service_id, b.staff_id, b.status, p.currency, 0, 0, 0, NULL, NULL,
             p.amount_cents, 0, 1
      FROM b JOIN payments p ON p.booking_id = b.id
      WHERE b.status IN ('cancelled', 'no_show') AND p.status = 'succeeded'
      UNION ALL
      SELECT b.day, b.service_id, b.staff_id, b.status, r.currency, 0, 0, 0, NULL, NULL,
             0, r.amount_cents, 1
      FROM b JOIN refunds r ON r.booking_id = b.id
      WHERE r.status <> 'failed'
    ),
    sums AS (
      INSERT INTO analytics_daily (tenant_id, day, grain, staff_id, service_id, status,
                                   currency, bookings, list_cents, charged_cents, private_time,
                                   lead_time, collected_cents, refunded_cents, money_entries)
      SELECT $1, day,
             CASE grouping(staff_id, service_id) WHEN 0 THEN 'both' WHEN 2 THEN 'service'
                  ELSE 'staff' END,
             staff_id, service_id, status, currency, sum(bookings), sum(list_cents),
             sum(charged_cents), sum(private_time), sum(lead_time), sum(collected),
             sum(refunded), sum(money_entries)
      FROM facts
      GROUP BY GROUPING SETS ((day, staff_id, service_id, status, currency),
                              (day, service_id, status, currency),
                              (day, staff_id, status, currency))
    )
    INSERT INTO analytics_daily (tenant_id, day, grain, staff_id, session_time)
    SELECT $1, day, 'session', staff_id, sum(length)
    FROM (SELECT DISTINCT day, staff_id, slot_key, length FROM b
          WHERE status <> 'cancelled' AND slot_key LIKE '%%:%%') AS sessions
    GROUP BY day, staff_id
  $sql$, v_filter) USING p_tenant, p_zone, p_days, v_lo, v_hi;

  -- The staff figures per month, of every month the days are in.
  IF p_days IS NULL THEN
    DELETE FROM analytics_daily WHERE tenant_id = p_tenant AND grain = 'staff_month';
  ELSE
    v_months := ARRAY(SELECT DISTINCT date_trunc('month', d::timestamp)::date
                      FROM unnest(p_days) AS d);
    DELETE FROM analytics_daily
    WHERE tenant_id = p_tenant AND grain = 'staff_month' AND day = ANY (v_months);
  END IF;
  INSERT INTO analytics_daily (tenant_id, day, grain, staff_id, service_id, status, currency,
                               bookings, list_cents, charged_cents, private_time, lead_time,
                               collected_cents, refunded_cents, money_entries)
  SELECT p_tenant, date_trunc('month', day::timestamp)::date, 'staff_month', staff_id, NULL,
         status, currency, sum(bookings), sum(list_cents), sum(charged_cents),
         sum(private_time), sum(lead_time), sum(collected_cents), sum(refunded_cents),
         sum(money_entries)
  FROM analytics_daily
  WHERE tenant_id = p_tenant AND grain = 'staff'
    AND (p_days IS NULL OR (day >= (SELECT min(m) FROM unnest(v_months) AS m)
                            AND day < (SELECT max(m) FROM unnest(v_months) AS m)
                                      + interval '1 month'
                            AND date_trunc('month', day::timestamp)::date = ANY (v_months)))
  GROUP BY 2, staff_id, status, currency;

  IF p_days IS NULL THEN
    DELETE FROM analytics_customer_visits WHERE tenant_id = p_tenant;
    INSERT INTO analytics_customer_visits (tenant_id, customer_id, visits)
    SELECT p_tenant, customer_id, range_agg(daterange(day, day, '[]'))
    FROM (SELECT DISTINCT customer_id, (timezone(p_zone, start_time))::date AS day
          FROM bookings WHERE tenant_id = p_tenant AND status <> 'cancelled') AS seen
    GROUP BY customer_id;
    RETURN;
  END IF;
  SELECT array_agg(DISTINCT customer_id) INTO v_customers FROM (
    SELECT customer_id FROM analytics_customer_visits
    WHERE tenant_id = p_tenant
      AND visits && (SELECT range_agg(daterange(d, d, '[]')) FROM unnest(p_days) AS d)
    UNION
    SELECT customer_id FROM bookings
    WHERE tenant_id = p_tenant AND start_time >= v_lo AND start_time < v_hi
      AND (timezone(p_zone, start_time))::date = ANY (p_days)
  ) AS touched;
  IF v_customers IS NULL THEN
    RETURN;
  END IF;
  DELETE FROM analytics_customer_visits
  WHERE tenant_id = p_tenant AND customer_id = ANY (v_customers);
  INSERT INTO analytics_customer_visits (tenant_id, customer_id, visits)
  SELECT p_tenant, customer_id, range_agg(daterange(day, day, '[]'))
  FROM (SELECT DISTINCT customer_id, (timezone(p_zone, start_time))::date AS day
        FROM bookings
        WHERE tenant_id = p_tenant AND customer_id = ANY (v_customers)
          AND status <> 'cancelled') AS seen
  GROUP BY customer_id;
END $$;
"""

# analytics_rollup_refresh(tenant): fold the tenant's dirty marks into the rollup (or rebuild
# it all: first time, or the tenant's zone changed), one refresh per tenant at a time. Only
# the marks it read are removed, and only if no writer marked them again meanwhile (the
# generation), so a change committed while it ran stays marked. Returns how many local days
# it recomputed (-1: all of them).
REFRESH_FUNCTIONS = r"""
CREATE FUNCTION analytics_rollup_refresh(p_tenant uuid, p_rebuild boolean DEFAULT false)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  v_zone text;
  v_built_zone text;
  v_marks date[];
  v_generations bigint[];
  v_days date[];
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended('boka.analytics_rollup:' || p_tenant::text, 0));
  SELECT time_zone INTO v_zone FROM tenants WHERE id = p_tenant;
  SELECT array_agg(utc_day), array_agg(generation) INTO v_marks, v_generations
  FROM analytics_dirty_days WHERE tenant_id = p_tenant;
  IF v_zone IS NULL THEN  -- no such tenant (any more)
    DELETE FROM analytics_dirty_days WHERE tenant_id = p_tenant;
    RETURN 0;
  END IF;
  SELECT time_zone INTO v_built_zone FROM analytics_rollup_state WHERE tenant_id = p_tenant;
  IF p_rebuild OR v_built_zone IS DISTINCT FROM v_zone THEN
    PERFORM analytics_rollup_write(p_tenant, v_zone, NULL);
    INSERT INTO analytics_rollup_state (tenant_id, time_zone) VALUES (p_tenant, v_zone)
    ON CONFLICT (tenant_id) DO UPDATE SET time_zone = excluded.time_zone, built_at = now();
  ELSIF v_marks IS NULL THEN
    RETURN 0;
  ELSE
    SELECT array_agg(DISTINCT u + k) INTO v_days
    FROM unnest(v_marks) AS u, generate_series(-1, 1) AS k;
    PERFORM analytics_rollup_write(p_tenant, v_zone, v_days);
    UPDATE analytics_rollup_state SET built_at = now() WHERE tenant_id = p_tenant;
  END IF;
  IF v_marks IS NOT NULL THEN
    DELETE FROM analytics_dirty_days d
    USING unnest(v_marks, v_generations) AS seen (utc_day, generation)
    WHERE d.tenant_id = p_tenant AND d.utc_day = seen.utc_day
      AND d.generation = seen.generation;
  END IF;
  RETURN CASE WHEN v_days IS NULL THEN -1 ELSE cardinality(v_days) END;
END $$;
"""


def statements(script: str) -> list[str]:
    """The statements of a script without function bodies (asyncpg runs one at a time)."""
    return [statement.strip() for statement in script.split(";\n") if statement.strip()]


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    for statement in statements(CREATE_TABLES):
        op.execute(statement)
    for table in TABLES:
        for statement in statements(policies(table)):
            op.execute(statement)
    for function in MARK_FUNCTIONS.split("-- next"):
        op.execute(function)
    for table, function in (('bookings', 'analytics_mark_bookings'),
                            ('payments', 'analytics_mark_money'),
                            ('refunds', 'analytics_mark_money')):
        for statement in statements(mark_triggers(table, function)):
            op.execute(statement)
    op.execute(WRITE_FUNCTION)
    op.execute(REFRESH_FUNCTIONS)
    # The backfill: every tenant's rollup from its history (env.py turned app.all_tenants on;
    # the triggers above already hold writers back until this transaction commits).
    op.execute("SELECT analytics_rollup_refresh(id, true) FROM tenants")


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    for table in ('bookings', 'payments', 'refunds'):
        for operation in ('insert', 'update', 'delete'):
            op.execute(f'DROP TRIGGER IF EXISTS analytics_mark_{operation} ON {table}')
    op.execute('DROP FUNCTION IF EXISTS analytics_rollup_refresh(uuid, boolean)')
    op.execute('DROP FUNCTION IF EXISTS analytics_rollup_write(uuid, text, date[])')
    op.execute('DROP FUNCTION IF EXISTS analytics_mark_money()')
    op.execute('DROP FUNCTION IF EXISTS analytics_mark_bookings()')
    for table in reversed(TABLES):
        op.execute(f'DROP TABLE IF EXISTS {table}')
