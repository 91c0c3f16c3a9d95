"""sync speed: what a visit still lacks (pending attachments by hash) and indexes for the phones' queries

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('visit_pending_attachments',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('visit_id', sa.String(length=36), nullable=False),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_visit_pending_attachments_visit_id_visits'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('sha256', 'visit_id', name=op.f('pk_visit_pending_attachments'))
    )
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.create_index('ix_visits_status_source', ['status', 'source'], unique=False)
        batch_op.create_index('ix_visits_supersedes_id', ['supersedes_id'], unique=False)
    with op.batch_alter_table('attestations', schema=None) as batch_op:
        batch_op.create_index('ix_attestations_user_visit', ['user_id', 'visit_id'], unique=False)
    with op.batch_alter_table('assignment_members', schema=None) as batch_op:
        batch_op.create_index('ix_assignment_members_user', ['user_id', 'assignment_id'], unique=False)
    # Visits already waiting for files when this runs: the same rows a new visit gets on arrival.
    conn = op.get_bind()
    visits = sa.table('visits', sa.column('id'), sa.column('status'), sa.column('envelope', sa.JSON))
    attachments = sa.table('attachments', sa.column('sha256'))
    pending = sa.table('visit_pending_attachments', sa.column('sha256'), sa.column('visit_id'))
    stored = None
    rows = []
    for visit_id, envelope in conn.execute(sa.select(visits.c.id, visits.c.envelope)
                                           .where(visits.c.status == 'incomplete')):
        if stored is None:
            stored = set(conn.scalars(sa.select(attachments.c.sha256)))
        listed = {a.get('sha256') for a in (envelope or {}).get('attachments', []) if isinstance(a, dict)}
        rows += [{'sha256': s, 'visit_id': visit_id} for s in sorted(x for x in listed if isinstance(x, str))
                 if s not in stored]
    if rows:
        op.bulk_insert(pending, rows)


def downgrade():
    with op.batch_alter_table('assignment_members', schema=None) as batch_op:
        batch_op.drop_index('ix_assignment_members_user')
    with op.batch_alter_table('attestations', schema=None) as batch_op:
        batch_op.drop_index('ix_attestations_user_visit')
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.drop_index('ix_visits_supersedes_id')
        batch_op.drop_index('ix_visits_status_source')
    op.drop_table('visit_pending_attachments')
