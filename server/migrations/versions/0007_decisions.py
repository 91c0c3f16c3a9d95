"""decisions: return for correction, assessed property, members' registered place code, recorded dates

Revision ID: 0007
Revises: 0004
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('returned_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('assessed_property', sa.JSON(), nullable=True))
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hukou_code', sa.String(length=12), server_default='', nullable=False))
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('recorded_on', sa.Date(), nullable=True))
    # Members registered before this revision were registered at the community of their household's
    # registration (the intake asks for it): their place is that community's code.
    op.execute("UPDATE members SET hukou_code = (SELECT units.code FROM households JOIN units "
               "ON units.id = households.unit_id WHERE households.id = members.household_id) "
               "WHERE hukou_code = ''")
    op.execute("UPDATE cases SET assessed_property = '[]' WHERE assessed_property IS NULL")


def downgrade():
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.drop_column('recorded_on')
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_column('hukou_code')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('assessed_property')
        batch_op.drop_column('returned_on')
