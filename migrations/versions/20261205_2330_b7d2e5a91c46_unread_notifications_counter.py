"""the bell's count as a column of the user, kept by the database on every write to notifications

Revision ID: b7d2e5a91c46
Revises: b7d2e4f19a03
Create Date: 2026-12-05 23:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7d2e5a91c46'
down_revision = 'b7d2e4f19a03'
branch_labels = None
depends_on = None

# A notification counts while it has a recipient account and is unread. Triggers (not the services)
# keep the count, so that every way rows are written counts: the ORM, the outbox's bulk INSERT … ON
# CONFLICT, "mark all read", retention and account closure deletes, and any later one.
RECOUNT = (
    "UPDATE users SET unread_notifications = (SELECT count(*) FROM notifications"
    " WHERE notifications.recipient_id = users.id AND notifications.read_at IS NULL)"
)

SQLITE_TRIGGERS = (
    "CREATE TRIGGER notifications_unread_insert AFTER INSERT ON notifications"
    " WHEN new.recipient_id IS NOT NULL AND new.read_at IS NULL BEGIN"
    " UPDATE users SET unread_notifications = unread_notifications + 1 WHERE id = new.recipient_id; END",
    "CREATE TRIGGER notifications_unread_delete AFTER DELETE ON notifications"
    " WHEN old.recipient_id IS NOT NULL AND old.read_at IS NULL BEGIN"
    " UPDATE users SET unread_notifications = unread_notifications - 1 WHERE id = old.recipient_id; END",
    "CREATE TRIGGER notifications_unread_update AFTER UPDATE OF read_at, recipient_id ON notifications"
    " WHEN old.recipient_id IS NOT new.recipient_id OR (old.read_at IS NULL) <> (new.read_at IS NULL) BEGIN"
    " UPDATE users SET unread_notifications = unread_notifications - 1"
    " WHERE id = old.recipient_id AND old.read_at IS NULL;"
    " UPDATE users SET unread_notifications = unread_notifications + 1"
    " WHERE id = new.recipient_id AND new.read_at IS NULL; END",
)
SQLITE_TRIGGER_NAMES = ("notifications_unread_insert", "notifications_unread_delete", "notifications_unread_update")

POSTGRESQL_FUNCTION = """
CREATE FUNCTION notifications_count_unread() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.recipient_id IS NOT NULL AND OLD.read_at IS NULL THEN
        UPDATE users SET unread_notifications = unread_notifications - 1 WHERE id = OLD.recipient_id;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.recipient_id IS NOT NULL AND NEW.read_at IS NULL THEN
        UPDATE users SET unread_notifications = unread_notifications + 1 WHERE id = NEW.recipient_id;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
"""
# The delivery worker updates status, attempts and claimed_at many times per row: the trigger fires
# only when what the count depends on changes.
POSTGRESQL_TRIGGERS = (
    "CREATE TRIGGER notifications_unread_insert_or_delete AFTER INSERT OR DELETE ON notifications"
    " FOR EACH ROW EXECUTE FUNCTION notifications_count_unread()",
    "CREATE TRIGGER notifications_unread_update AFTER UPDATE OF read_at, recipient_id ON notifications"
    " FOR EACH ROW WHEN (OLD.recipient_id IS DISTINCT FROM NEW.recipient_id"
    " OR (OLD.read_at IS NULL) <> (NEW.read_at IS NULL)) EXECUTE FUNCTION notifications_count_unread()",
)


def upgrade():
    op.add_column('users', sa.Column('unread_notifications', sa.Integer(), server_default='0', nullable=False))
    op.execute(RECOUNT)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(POSTGRESQL_FUNCTION)
        for statement in POSTGRESQL_TRIGGERS:
            op.execute(statement)
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER IF EXISTS notifications_unread_update ON notifications")
        op.execute("DROP TRIGGER IF EXISTS notifications_unread_insert_or_delete ON notifications")
        op.execute("DROP FUNCTION IF EXISTS notifications_count_unread()")
    else:
        for name in SQLITE_TRIGGER_NAMES:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    # SQLite (3.35+) drops a plain column in place, as the email confirmation revision does.
    op.drop_column('users', 'unread_notifications')
