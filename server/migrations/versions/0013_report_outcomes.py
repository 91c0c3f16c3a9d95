"""report outcomes: the office's answer to a resident's objection or tip-off is a line from a fixed list

Revision ID: 0013
Revises: 0008
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    # Reports answered before this keep no outcome: their receipt page shows "answered" and the date only (their
    # typed answers are the office's record, no longer shown to residents).
    with op.batch_alter_table('board_reports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('outcome', sa.String(length=20), nullable=True))


def downgrade():
    with op.batch_alter_table('board_reports', schema=None) as batch_op:
        batch_op.drop_column('outcome')
