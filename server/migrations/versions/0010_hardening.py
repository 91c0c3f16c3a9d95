"""hardening: session epochs, the audit hash chain, survey marks; insert-only history on PostgreSQL

Revision ID: 0010
Revises: 0011
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0011'
branch_labels = None
depends_on = None

# The application never changes or deletes audit entries or case events; on PostgreSQL the database
# refuses it too.  A maintenance session (retention by the DBA, test teardown) may lift it with
# ``SET ruhu.maintenance = 'on'``; the application never sets it.
INSERT_ONLY = """
CREATE OR REPLACE FUNCTION ruhu_insert_only() RETURNS trigger AS $$
BEGIN
    IF coalesce(current_setting('ruhu.maintenance', true), '') = 'on' THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    RAISE EXCEPTION 'table % is insert-only (% refused) / 只能追加', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql
"""
TABLES = ("audit_entries", "case_events")


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_epoch', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('prev_hash', sa.String(length=64), server_default='', nullable=False))
        batch_op.add_column(sa.Column('entry_hash', sa.String(length=64), server_default='', nullable=False))
    op.create_table('survey_marks',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_survey_marks'))
    )
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(INSERT_ONLY)
        for table in TABLES:
            op.execute(f"CREATE TRIGGER {table}_insert_only BEFORE UPDATE OR DELETE ON {table} "
                       f"FOR EACH ROW EXECUTE FUNCTION ruhu_insert_only()")


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        for table in TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_insert_only ON {table}")
        op.execute("DROP FUNCTION IF EXISTS ruhu_insert_only()")
    op.drop_table('survey_marks')
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.drop_column('entry_hash')
        batch_op.drop_column('prev_hash')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_epoch')
