"""money tables: monthly payment rosters, their lines, and families' change reports

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('rosters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('profile_id', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('finance_due_on', sa.Date(), nullable=True),
    sa.Column('payment_due_on', sa.Date(), nullable=True),
    sa.Column('generated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('generated_by_id', sa.Integer(), nullable=True),
    sa.Column('generated_by_label', sa.String(length=80), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('submitted_on', sa.Date(), nullable=True),
    sa.Column('submitted_by_id', sa.Integer(), nullable=True),
    sa.Column('signature_sha256', sa.String(length=64), nullable=True),
    sa.Column('leader_opinion', sa.Text(), nullable=False),
    sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
    sa.Column('review_comments', sa.Text(), nullable=False),
    sa.Column('returned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('times_returned', sa.Integer(), nullable=False),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('households', sa.Integer(), nullable=False),
    sa.Column('people', sa.Integer(), nullable=False),
    sa.Column('payments_total', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('adjustments_total', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('total', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['generated_by_id'], ['users.id'], name=op.f('fk_rosters_generated_by_id_users')),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['users.id'], name=op.f('fk_rosters_reviewed_by_id_users')),
    sa.ForeignKeyConstraint(['submitted_by_id'], ['users.id'], name=op.f('fk_rosters_submitted_by_id_users')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_rosters_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rosters')),
    sa.UniqueConstraint('unit_id', 'month', name='uq_rosters_unit_month')
    )
    with op.batch_alter_table('rosters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rosters_month'), ['month'], unique=False)
        batch_op.create_index(batch_op.f('ix_rosters_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_rosters_unit_id'), ['unit_id'], unique=False)

    op.create_table('roster_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('roster_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('case_number', sa.String(length=32), nullable=False),
    sa.Column('head_name', sa.String(length=50), nullable=False),
    sa.Column('people', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('previous_amount', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('change', sa.String(length=12), nullable=False),
    sa.Column('reason_code', sa.String(length=24), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('exit_percentage', sa.Integer(), nullable=True),
    sa.Column('corrects_month', sa.String(length=7), nullable=True),
    sa.Column('differs_from_decided', sa.Boolean(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_roster_lines_case_id_cases')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_roster_lines_created_by_id_users')),
    sa.ForeignKeyConstraint(['roster_id'], ['rosters.id'], name=op.f('fk_roster_lines_roster_id_rosters')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_roster_lines'))
    )
    with op.batch_alter_table('roster_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_roster_lines_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_roster_lines_roster_id'), ['roster_id'], unique=False)

    op.create_table('change_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('reported_on', sa.Date(), nullable=False),
    sa.Column('reported_income_6m', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('decision', sa.String(length=20), nullable=False),
    sa.Column('decided_on', sa.Date(), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decision_event_id', sa.Integer(), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_change_reports_case_id_cases')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_change_reports_decided_by_id_users')),
    sa.ForeignKeyConstraint(['decision_event_id'], ['case_events.id'],
                            name=op.f('fk_change_reports_decision_event_id_case_events')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_change_reports_recorded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_change_reports'))
    )
    with op.batch_alter_table('change_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_change_reports_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_change_reports_status'), ['status'], unique=False)


def downgrade():
    with op.batch_alter_table('change_reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_change_reports_status'))
        batch_op.drop_index(batch_op.f('ix_change_reports_case_id'))

    op.drop_table('change_reports')
    with op.batch_alter_table('roster_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_roster_lines_roster_id'))
        batch_op.drop_index(batch_op.f('ix_roster_lines_case_id'))

    op.drop_table('roster_lines')
    with op.batch_alter_table('rosters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rosters_unit_id'))
        batch_op.drop_index(batch_op.f('ix_rosters_status'))
        batch_op.drop_index(batch_op.f('ix_rosters_month'))

    op.drop_table('rosters')
