"""procedure guards: one open case per ID number (open_applicants), money steps after approval (roster_steps)

Revision ID: 0008
Revises: 0012
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0012'
branch_labels = None
depends_on = None

TERMINAL = ("refused", "abandoned", "stopped")


def upgrade():
    op.create_table('open_applicants',
    sa.Column('id_number', sa.String(length=18), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_open_applicants_case_id_cases')),
    sa.PrimaryKeyConstraint('id_number', name=op.f('pk_open_applicants'))
    )
    with op.batch_alter_table('open_applicants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_open_applicants_case_id'), ['case_id'], unique=False)
    # Every ID number in an open case today (the earliest case where an earlier race left two).
    terminal = ", ".join(f"'{s}'" for s in TERMINAL)
    op.execute(
        "INSERT INTO open_applicants (id_number, case_id, created_at) "
        "SELECT m.id_number, MIN(c.id), CURRENT_TIMESTAMP FROM members m "
        "JOIN cases c ON c.household_id = m.household_id "
        f"WHERE c.status NOT IN ({terminal}) GROUP BY m.id_number")

    op.create_table('roster_steps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('roster_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.String(length=12), nullable=False),
    sa.Column('on_date', sa.Date(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('late', sa.Boolean(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_roster_steps_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['roster_id'], ['rosters.id'], name=op.f('fk_roster_steps_roster_id_rosters')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_roster_steps')),
    sa.UniqueConstraint('roster_id', 'step', name='uq_roster_steps_roster_step')
    )
    with op.batch_alter_table('roster_steps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_roster_steps_roster_id'), ['roster_id'], unique=False)


def downgrade():
    with op.batch_alter_table('roster_steps', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_roster_steps_roster_id'))
    op.drop_table('roster_steps')
    with op.batch_alter_table('open_applicants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_open_applicants_case_id'))
    op.drop_table('open_applicants')
