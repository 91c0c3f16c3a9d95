"""indexes for the console's case lists: an office's cases by number, date and stage stay fast at 100,000 cases

Revision ID: 0011
Revises: 0004
Create Date: 2026-11-30
"""
from alembic import op

revision = '0011'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_cases_office_number', 'cases', ['office_unit_id', 'number'], unique=False)
    op.create_index('ix_cases_office_applied', 'cases', ['office_unit_id', 'applied_on'], unique=False)
    op.create_index('ix_cases_office_status', 'cases', ['office_unit_id', 'status'], unique=False)
    op.create_index('ix_cases_office_decided', 'cases', ['office_unit_id', 'decided_on'], unique=False)


def downgrade():
    op.drop_index('ix_cases_office_decided', table_name='cases')
    op.drop_index('ix_cases_office_status', table_name='cases')
    op.drop_index('ix_cases_office_applied', table_name='cases')
    op.drop_index('ix_cases_office_number', table_name='cases')
