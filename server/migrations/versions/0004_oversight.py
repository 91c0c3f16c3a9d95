"""oversight tables: spot-check draws and results, assessment items, rectification notices, two-rates responses

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('spot_check_draws',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('seed', sa.Integer(), nullable=False),
    sa.Column('share', sa.Numeric(precision=5, scale=4), nullable=False),
    sa.Column('stratified', sa.Boolean(), nullable=False),
    sa.Column('population_size', sa.Integer(), nullable=False),
    sa.Column('population', sa.JSON(), nullable=False),
    sa.Column('strata', sa.JSON(), nullable=False),
    sa.Column('drawn_household_ids', sa.JSON(), nullable=False),
    sa.Column('drawn_case_ids', sa.JSON(), nullable=False),
    sa.Column('drawn_by_id', sa.Integer(), nullable=True),
    sa.Column('drawn_by_label', sa.String(length=80), nullable=False),
    sa.Column('drawn_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['drawn_by_id'], ['users.id'], name=op.f('fk_spot_check_draws_drawn_by_id_users')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_spot_check_draws_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_spot_check_draws')),
    sa.UniqueConstraint('unit_id', 'year', 'seed', name='uq_spot_check_draws_unit_year_seed')
    )
    with op.batch_alter_table('spot_check_draws', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_spot_check_draws_unit_id'), ['unit_id'], unique=False)

    op.create_table('spot_check_results',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('draw_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('visit_id', sa.String(length=36), nullable=True),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('household_found', sa.Boolean(), nullable=False),
    sa.Column('members_match', sa.Boolean(), nullable=True),
    sa.Column('income_found_6m', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('income_recorded_6m', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('members_recorded', sa.Integer(), nullable=False),
    sa.Column('accuracy', sa.String(length=12), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('entered_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_spot_check_results_case_id_cases')),
    sa.ForeignKeyConstraint(['draw_id'], ['spot_check_draws.id'],
                            name=op.f('fk_spot_check_results_draw_id_spot_check_draws')),
    sa.ForeignKeyConstraint(['entered_by_id'], ['users.id'], name=op.f('fk_spot_check_results_entered_by_id_users')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_spot_check_results_visit_id_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_spot_check_results')),
    sa.UniqueConstraint('draw_id', 'case_id', name='uq_spot_check_results_draw_case')
    )
    with op.batch_alter_table('spot_check_results', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_spot_check_results_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_spot_check_results_draw_id'), ['draw_id'], unique=False)

    op.create_table('assessment_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('quarter', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('item_key', sa.String(length=100), nullable=False),
    sa.Column('points', sa.Numeric(precision=6, scale=1), nullable=False),
    sa.Column('value', sa.Numeric(precision=14, scale=4), nullable=True),
    sa.Column('measure', sa.JSON(), nullable=True),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('evidence', sa.Text(), nullable=False),
    sa.Column('attachment_sha256', sa.String(length=64), nullable=True),
    sa.Column('entered_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['attachment_sha256'], ['attachments.sha256'],
                            name=op.f('fk_assessment_items_attachment_sha256_attachments')),
    sa.ForeignKeyConstraint(['entered_by_id'], ['users.id'], name=op.f('fk_assessment_items_entered_by_id_users')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_assessment_items_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment_items'))
    )
    with op.batch_alter_table('assessment_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assessment_items_unit_id'), ['unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_assessment_items_year'), ['year'], unique=False)

    op.create_table('rectification_notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('quarter', sa.Integer(), nullable=False),
    sa.Column('score', sa.Numeric(precision=6, scale=1), nullable=False),
    sa.Column('items', sa.JSON(), nullable=False),
    sa.Column('issued_by_id', sa.Integer(), nullable=True),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['issued_by_id'], ['users.id'], name=op.f('fk_rectification_notices_issued_by_id_users')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_rectification_notices_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rectification_notices')),
    sa.UniqueConstraint('number', name=op.f('uq_rectification_notices_number')),
    sa.UniqueConstraint('unit_id', 'year', 'quarter', name='uq_rectification_notices_unit_year_quarter')
    )
    with op.batch_alter_table('rectification_notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rectification_notices_unit_id'), ['unit_id'], unique=False)

    op.create_table('two_rates_responses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('respondent', sa.String(length=12), nullable=False),
    sa.Column('aware', sa.Boolean(), nullable=False),
    sa.Column('satisfied', sa.Boolean(), nullable=False),
    sa.Column('surveyed_on', sa.Date(), nullable=False),
    sa.Column('visit_id', sa.String(length=36), nullable=True),
    sa.Column('entered_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['entered_by_id'], ['users.id'], name=op.f('fk_two_rates_responses_entered_by_id_users')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_two_rates_responses_unit_id_units')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_two_rates_responses_visit_id_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_two_rates_responses')),
    sa.UniqueConstraint('visit_id', name=op.f('uq_two_rates_responses_visit_id'))
    )
    with op.batch_alter_table('two_rates_responses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_two_rates_responses_surveyed_on'), ['surveyed_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_two_rates_responses_unit_id'), ['unit_id'], unique=False)


def downgrade():
    with op.batch_alter_table('two_rates_responses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_two_rates_responses_unit_id'))
        batch_op.drop_index(batch_op.f('ix_two_rates_responses_surveyed_on'))
    op.drop_table('two_rates_responses')

    with op.batch_alter_table('rectification_notices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rectification_notices_unit_id'))
    op.drop_table('rectification_notices')

    with op.batch_alter_table('assessment_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assessment_items_year'))
        batch_op.drop_index(batch_op.f('ix_assessment_items_unit_id'))
    op.drop_table('assessment_items')

    with op.batch_alter_table('spot_check_results', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_spot_check_results_draw_id'))
        batch_op.drop_index(batch_op.f('ix_spot_check_results_case_id'))
    op.drop_table('spot_check_results')

    with op.batch_alter_table('spot_check_draws', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_spot_check_draws_unit_id'))
    op.drop_table('spot_check_draws')
