"""one file per required document (unique index); accepted file types as FileKind values

Revision ID: 9b7e4c2f1a06
Revises: 7c2e4b9d1a03
Create Date: 2026-12-05 09:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9b7e4c2f1a06'
down_revision = '7c2e4b9d1a03'
branch_labels = None
depends_on = None

# The demo (and any call created before FileKind) stored file extensions; the application only ever
# matched the kinds, so "jpg" or "xlsx" refused every file of that format.
KINDS = ("pdf", "image", "office")
KIND_OF_EXTENSION = {
    "pdf": "pdf",
    "image": "image", "jpg": "image", "jpeg": "image", "png": "image",
    "office": "office", "doc": "office", "docx": "office", "xls": "office", "xlsx": "office",
    "ppt": "office", "pptx": "office", "odt": "office", "ods": "office", "odp": "office",
}

required_documents = sa.table(
    "required_documents", sa.column("id", sa.Integer), sa.column("accepted_types", sa.JSON),
)


def upgrade():
    connection = op.get_bind()
    for document_id, accepted in connection.execute(
        sa.select(required_documents.c.id, required_documents.c.accepted_types)
    ).all():
        wanted = {KIND_OF_EXTENSION.get(str(value).strip().lower()) for value in accepted or []}
        kinds = [kind for kind in KINDS if kind in wanted] or ["pdf"]
        if kinds != accepted:
            connection.execute(
                required_documents.update().where(required_documents.c.id == document_id).values(accepted_types=kinds)
            )
    # A plain CREATE INDEX: no table rebuild on SQLite.
    op.create_index(
        'uq_attachments_application_id_required_document_id', 'attachments',
        ['application_id', 'required_document_id'], unique=True,
        postgresql_where=sa.text('required_document_id IS NOT NULL'),
        sqlite_where=sa.text('required_document_id IS NOT NULL'),
    )


def downgrade():
    op.drop_index('uq_attachments_application_id_required_document_id', table_name='attachments')
    # The kinds stay: they are what the application has always matched against.
