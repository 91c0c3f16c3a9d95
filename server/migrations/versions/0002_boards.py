"""boards tables: notice boards, their retired tokens, and residents' objections / tip-offs

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""
import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('boards',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('token', sa.String(length=43), nullable=False),
    sa.Column('rotated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_boards_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_boards')),
    sa.UniqueConstraint('code', name=op.f('uq_boards_code')),
    sa.UniqueConstraint('token', name=op.f('uq_boards_token'))
    )
    with op.batch_alter_table('boards', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_boards_unit_id'), ['unit_id'], unique=False)

    op.create_table('board_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('board_id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=43), nullable=False),
    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['board_id'], ['boards.id'], name=op.f('fk_board_tokens_board_id_boards')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_board_tokens')),
    sa.UniqueConstraint('token', name=op.f('uq_board_tokens_token'))
    )
    with op.batch_alter_table('board_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_board_tokens_board_id'), ['board_id'], unique=False)

    op.create_table('board_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('receipt', sa.String(length=20), nullable=False),
    sa.Column('board_id', sa.Integer(), nullable=False),
    sa.Column('office_unit_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('photo_sha256', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answered_by_id', sa.Integer(), nullable=True),
    sa.Column('case_event_id', sa.Integer(), nullable=True),
    sa.Column('client_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['answered_by_id'], ['users.id'], name=op.f('fk_board_reports_answered_by_id_users')),
    sa.ForeignKeyConstraint(['board_id'], ['boards.id'], name=op.f('fk_board_reports_board_id_boards')),
    sa.ForeignKeyConstraint(['case_event_id'], ['case_events.id'],
                            name=op.f('fk_board_reports_case_event_id_case_events')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_board_reports_case_id_cases')),
    sa.ForeignKeyConstraint(['office_unit_id'], ['units.id'], name=op.f('fk_board_reports_office_unit_id_units')),
    sa.ForeignKeyConstraint(['photo_sha256'], ['attachments.sha256'],
                            name=op.f('fk_board_reports_photo_sha256_attachments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_board_reports')),
    sa.UniqueConstraint('receipt', name=op.f('uq_board_reports_receipt'))
    )
    with op.batch_alter_table('board_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_board_reports_board_id'), ['board_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_board_reports_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_board_reports_client_hash'), ['client_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_board_reports_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_board_reports_office_unit_id'), ['office_unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_board_reports_status'), ['status'], unique=False)


def downgrade():
    with op.batch_alter_table('board_reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_board_reports_status'))
        batch_op.drop_index(batch_op.f('ix_board_reports_office_unit_id'))
        batch_op.drop_index(batch_op.f('ix_board_reports_created_at'))
        batch_op.drop_index(batch_op.f('ix_board_reports_client_hash'))
        batch_op.drop_index(batch_op.f('ix_board_reports_case_id'))
        batch_op.drop_index(batch_op.f('ix_board_reports_board_id'))
    op.drop_table('board_reports')
    with op.batch_alter_table('board_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_board_tokens_board_id'))
    op.drop_table('board_tokens')
    with op.batch_alter_table('boards', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_boards_unit_id'))
    op.drop_table('boards')
