"""what the envelope dashboard reads, kept as the data change: applications by call and state and
decisions by call, outcome and section (database triggers), and the envelope ledger summed by local
day (written by the ledger's only writer, grants.awards.services._move); the existing rows are
counted and summed here

Revision ID: e3a8c1d5f702
Revises: c3a8e1f07b52
Create Date: 2026-12-06 02:40:00

"""
from collections import defaultdict
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e3a8c1d5f702'
down_revision = 'c3a8e1f07b52'
branch_labels = None
depends_on = None

# --- applications by call and state -------------------------------------------------------------
# Every way rows are written counts (the ORM, bulk UPDATEs, retention's deletes, COPY): so triggers,
# as for users.unread_notifications (b7d2e5a91c46). An update fires only when the call or state moves.
APPLICATION_RECOUNT = (
    "INSERT INTO call_application_counts (call_id, state, applications)"
    " SELECT call_id, state, count(*) FROM applications GROUP BY call_id, state"
)
SQLITE_APPLICATION_TRIGGERS = (
    "CREATE TRIGGER applications_count_insert AFTER INSERT ON applications BEGIN"
    " INSERT INTO call_application_counts (call_id, state, applications) VALUES (new.call_id, new.state, 1)"
    " ON CONFLICT (call_id, state) DO UPDATE SET applications = applications + 1; END",
    "CREATE TRIGGER applications_count_delete AFTER DELETE ON applications BEGIN"
    " UPDATE call_application_counts SET applications = applications - 1"
    " WHERE call_id = old.call_id AND state = old.state; END",
    "CREATE TRIGGER applications_count_update AFTER UPDATE OF call_id, state ON applications"
    " WHEN old.call_id IS NOT new.call_id OR old.state IS NOT new.state BEGIN"
    " UPDATE call_application_counts SET applications = applications - 1"
    " WHERE call_id = old.call_id AND state = old.state;"
    " INSERT INTO call_application_counts (call_id, state, applications) VALUES (new.call_id, new.state, 1)"
    " ON CONFLICT (call_id, state) DO UPDATE SET applications = applications + 1; END",
)
POSTGRESQL_APPLICATION_FUNCTION = """
CREATE FUNCTION applications_count_by_state() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE call_application_counts SET applications = applications - 1
        WHERE call_id = OLD.call_id AND state = OLD.state;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO call_application_counts (call_id, state, applications) VALUES (NEW.call_id, NEW.state, 1)
        ON CONFLICT (call_id, state) DO UPDATE SET applications = call_application_counts.applications + 1;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
"""
POSTGRESQL_APPLICATION_TRIGGERS = (
    "CREATE TRIGGER applications_count_insert_or_delete AFTER INSERT OR DELETE ON applications"
    " FOR EACH ROW EXECUTE FUNCTION applications_count_by_state()",
    "CREATE TRIGGER applications_count_update AFTER UPDATE OF call_id, state ON applications"
    " FOR EACH ROW WHEN (OLD.call_id IS DISTINCT FROM NEW.call_id OR OLD.state IS DISTINCT FROM NEW.state)"
    " EXECUTE FUNCTION applications_count_by_state()",
)

# --- decisions in force by call, outcome and section ----------------------------------------------
# A decision counts while it is not cancelled; an award brings its released and recovery_due. The
# decision's call is its application's. Payments update decisions.paid many times: they fire nothing.
DECISION_RECOUNT = (
    "INSERT INTO call_decision_figures (call_id, outcome, section, decisions, released, recovery_due)"
    " SELECT a.call_id, d.outcome, coalesce(d.section, ''), count(*), sum(d.released), sum(d.recovery_due)"
    " FROM decisions d JOIN applications a ON a.id = d.application_id WHERE d.cancelled_at IS NULL"
    " GROUP BY a.call_id, d.outcome, coalesce(d.section, '')"
)
DECISION_COLUMNS = "application_id, outcome, section, released, recovery_due, cancelled_at"
SQLITE_ADD = (
    " INSERT INTO call_decision_figures (call_id, outcome, section, decisions, released, recovery_due)"
    " SELECT call_id, new.outcome, coalesce(new.section, ''), 1, new.released, new.recovery_due"
    " FROM applications WHERE id = new.application_id AND new.cancelled_at IS NULL"
    " ON CONFLICT (call_id, outcome, section) DO UPDATE SET decisions = decisions + 1,"
    " released = released + excluded.released, recovery_due = recovery_due + excluded.recovery_due;"
)
SQLITE_REMOVE = (
    " UPDATE call_decision_figures SET decisions = decisions - 1, released = released - old.released,"
    " recovery_due = recovery_due - old.recovery_due"
    " WHERE old.cancelled_at IS NULL AND outcome = old.outcome AND section = coalesce(old.section, '')"
    " AND call_id = (SELECT call_id FROM applications WHERE id = old.application_id);"
)
SQLITE_DECISION_TRIGGERS = (
    f"CREATE TRIGGER decisions_count_insert AFTER INSERT ON decisions BEGIN{SQLITE_ADD} END",
    f"CREATE TRIGGER decisions_count_delete AFTER DELETE ON decisions BEGIN{SQLITE_REMOVE} END",
    f"CREATE TRIGGER decisions_count_update AFTER UPDATE OF {DECISION_COLUMNS} ON decisions"
    " WHEN old.application_id IS NOT new.application_id OR old.outcome IS NOT new.outcome"
    " OR old.section IS NOT new.section OR old.released IS NOT new.released"
    " OR old.recovery_due IS NOT new.recovery_due OR (old.cancelled_at IS NULL) <> (new.cancelled_at IS NULL)"
    f" BEGIN{SQLITE_REMOVE}{SQLITE_ADD} END",
)
POSTGRESQL_DECISION_FUNCTION = """
CREATE FUNCTION decisions_count_by_outcome() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.cancelled_at IS NULL THEN
        UPDATE call_decision_figures SET decisions = decisions - 1, released = released - OLD.released,
            recovery_due = recovery_due - OLD.recovery_due
        WHERE outcome = OLD.outcome AND section = coalesce(OLD.section, '')
          AND call_id = (SELECT call_id FROM applications WHERE id = OLD.application_id);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.cancelled_at IS NULL THEN
        INSERT INTO call_decision_figures (call_id, outcome, section, decisions, released, recovery_due)
        SELECT call_id, NEW.outcome, coalesce(NEW.section, ''), 1, NEW.released, NEW.recovery_due
        FROM applications WHERE id = NEW.application_id
        ON CONFLICT (call_id, outcome, section) DO UPDATE SET
            decisions = call_decision_figures.decisions + 1,
            released = call_decision_figures.released + excluded.released,
            recovery_due = call_decision_figures.recovery_due + excluded.recovery_due;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
"""
POSTGRESQL_DECISION_TRIGGERS = (
    "CREATE TRIGGER decisions_count_insert_or_delete AFTER INSERT OR DELETE ON decisions"
    " FOR EACH ROW EXECUTE FUNCTION decisions_count_by_outcome()",
    f"CREATE TRIGGER decisions_count_update AFTER UPDATE OF {DECISION_COLUMNS} ON decisions"
    " FOR EACH ROW WHEN (OLD.application_id IS DISTINCT FROM NEW.application_id"
    " OR OLD.outcome IS DISTINCT FROM NEW.outcome OR OLD.section IS DISTINCT FROM NEW.section"
    " OR OLD.released IS DISTINCT FROM NEW.released OR OLD.recovery_due IS DISTINCT FROM NEW.recovery_due"
    " OR (OLD.cancelled_at IS NULL) <> (NEW.cancelled_at IS NULL))"
    " EXECUTE FUNCTION decisions_count_by_outcome()",
)
SQLITE_TRIGGER_NAMES = ("applications_count_insert", "applications_count_delete", "applications_count_update",
                        "decisions_count_insert", "decisions_count_delete", "decisions_count_update")

# --- the ledger by day: the backfill ---------------------------------------------------------------
# A frozen copy of grants.awards.services.chart_day (a migration must not change when the application
# does): an award counts on its committee's date, else on its decision's local day; a change of amount
# on the day it was recorded; a payment on its payment date but never before the decision's day; a
# recovery on its date.
movements = sa.table(
    'envelope_movements', sa.column('envelope_id', sa.Integer), sa.column('decision_id', sa.Integer),
    sa.column('kind', sa.String), sa.column('amount', sa.BigInteger), sa.column('effective_on', sa.Date),
    sa.column('created_at', sa.DateTime))
decisions = sa.table('decisions', sa.column('id', sa.Integer), sa.column('decided_at', sa.DateTime),
                     sa.column('committee_session_id', sa.Integer))
sessions = sa.table('committee_sessions', sa.column('id', sa.Integer), sa.column('held_on', sa.Date))
ledger_days = sa.table(
    'envelope_ledger_days', sa.column('envelope_id', sa.Integer), sa.column('day', sa.Date),
    sa.column('committed', sa.BigInteger), sa.column('decommitted', sa.BigInteger),
    sa.column('paid', sa.BigInteger), sa.column('recovered', sa.BigInteger))
COLUMN_OF_KIND = {'commitment': 'committed', 'increase': 'committed', 'decrease': 'decommitted',
                  'cancellation': 'decommitted', 'payment': 'paid', 'recovery': 'recovered'}


def _time_zone():
    try:
        from flask import current_app

        return ZoneInfo(current_app.config.get('TIME_ZONE') or 'Europe/Paris')
    except (ImportError, RuntimeError):
        return ZoneInfo('Europe/Paris')


def _local_day(instant, zone):
    if isinstance(instant, str):  # SQLite hands the stored text back
        instant = datetime.fromisoformat(instant)
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return instant.astimezone(zone).date()


def _day(value):
    return datetime.fromisoformat(value).date() if isinstance(value, str) else value


def backfill_ledger_days(bind):
    zone = _time_zone()
    days = defaultdict(lambda: {'committed': 0, 'decommitted': 0, 'paid': 0, 'recovered': 0})
    rows = bind.execute(
        sa.select(movements.c.envelope_id, movements.c.kind, movements.c.amount, movements.c.effective_on,
                  movements.c.created_at, decisions.c.decided_at, sessions.c.held_on)
        .select_from(movements.outerjoin(decisions, decisions.c.id == movements.c.decision_id)
                     .outerjoin(sessions, sessions.c.id == decisions.c.committee_session_id))
    )
    for envelope_id, kind, amount, effective_on, created_at, decided_at, held_on in rows:
        recorded_on = _local_day(created_at, zone)
        decided_on = _day(held_on) or (_local_day(decided_at, zone) if decided_at is not None else recorded_on)
        if kind == 'commitment':
            day = decided_on
        elif kind == 'payment':
            day = max(_day(effective_on) or recorded_on, decided_on)
        elif kind == 'recovery':
            day = _day(effective_on) or recorded_on
        else:
            day = recorded_on
        days[(envelope_id, day)][COLUMN_OF_KIND[kind]] += amount
    if days:
        op.bulk_insert(ledger_days, [{'envelope_id': envelope_id, 'day': day, **sums}
                                     for (envelope_id, day), sums in sorted(days.items())])


def upgrade():
    op.create_table(
        'call_application_counts',
        sa.Column('call_id', sa.Integer(), nullable=False),
        sa.Column('state', sa.String(length=40), nullable=False),
        sa.Column('applications', sa.Integer(), server_default='0', nullable=False),
        sa.CheckConstraint('applications >= 0', name=op.f('ck_call_application_counts_applications_not_negative')),
        sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_call_application_counts_call_id_calls'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('call_id', 'state', name=op.f('pk_call_application_counts')),
    )
    op.create_table(
        'call_decision_figures',
        sa.Column('call_id', sa.Integer(), nullable=False),
        sa.Column('outcome', sa.String(length=20), nullable=False),
        sa.Column('section', sa.String(length=24), nullable=False),
        sa.Column('decisions', sa.Integer(), server_default='0', nullable=False),
        sa.Column('released', sa.BigInteger(), server_default='0', nullable=False),
        sa.Column('recovery_due', sa.BigInteger(), server_default='0', nullable=False),
        sa.CheckConstraint('decisions >= 0', name=op.f('ck_call_decision_figures_decisions_not_negative')),
        sa.CheckConstraint('released >= 0 AND recovery_due >= 0', name=op.f('ck_call_decision_figures_sums_not_negative')),
        sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_call_decision_figures_call_id_calls'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('call_id', 'outcome', 'section', name=op.f('pk_call_decision_figures')),
    )
    op.create_table(
        'envelope_ledger_days',
        sa.Column('envelope_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('committed', sa.BigInteger(), server_default='0', nullable=False),
        sa.Column('decommitted', sa.BigInteger(), server_default='0', nullable=False),
        sa.Column('paid', sa.BigInteger(), server_default='0', nullable=False),
        sa.Column('recovered', sa.BigInteger(), server_default='0', nullable=False),
        sa.CheckConstraint('committed >= 0 AND decommitted >= 0 AND paid >= 0 AND recovered >= 0',
                           name=op.f('ck_envelope_ledger_days_sums_not_negative')),
        sa.ForeignKeyConstraint(['envelope_id'], ['call_envelopes.id'],
                                name=op.f('fk_envelope_ledger_days_envelope_id_call_envelopes'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('envelope_id', 'day', name=op.f('pk_envelope_ledger_days')),
    )
    bind = op.get_bind()
    op.execute(APPLICATION_RECOUNT)
    op.execute(DECISION_RECOUNT)
    backfill_ledger_days(bind)
    if bind.dialect.name == 'postgresql':
        for statement in (POSTGRESQL_APPLICATION_FUNCTION, *POSTGRESQL_APPLICATION_TRIGGERS,
                          POSTGRESQL_DECISION_FUNCTION, *POSTGRESQL_DECISION_TRIGGERS):
            op.execute(statement)
    else:
        for statement in (*SQLITE_APPLICATION_TRIGGERS, *SQLITE_DECISION_TRIGGERS):
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        for trigger, table in (('applications_count_update', 'applications'),
                               ('applications_count_insert_or_delete', 'applications'),
                               ('decisions_count_update', 'decisions'),
                               ('decisions_count_insert_or_delete', 'decisions')):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {table}")
        op.execute("DROP FUNCTION IF EXISTS applications_count_by_state()")
        op.execute("DROP FUNCTION IF EXISTS decisions_count_by_outcome()")
    else:
        for name in SQLITE_TRIGGER_NAMES:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table('envelope_ledger_days')
    op.drop_table('call_decision_figures')
    op.drop_table('call_application_counts')
