"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-22
"""

from alembic import op
import sqlalchemy as sa
import voltline.store.tables


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('token_hash', sa.String(length=128), nullable=False),
    sa.Column('created_at', voltline.store.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', voltline.store.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', voltline.store.tables.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash'))
    )
    op.create_table('charge_points',
    sa.Column('id', sa.String(length=255), nullable=False),
    sa.Column('description', sa.String(length=255), nullable=True),
    sa.Column('password_hash', sa.String(length=255), nullable=True),
    sa.Column('registration_status', sa.String(length=16), nullable=True),
    sa.Column('vendor', sa.String(length=20), nullable=True),
    sa.Column('model', sa.String(length=20), nullable=True),
    sa.Column('serial_number', sa.String(length=25), nullable=True),
    sa.Column('charge_box_serial_number', sa.String(length=25), nullable=True),
    sa.Column('firmware_version', sa.String(length=50), nullable=True),
    sa.Column('iccid', sa.String(length=20), nullable=True),
    sa.Column('imsi', sa.String(length=20), nullable=True),
    sa.Column('meter_type', sa.String(length=25), nullable=True),
    sa.Column('meter_serial_number', sa.String(length=25), nullable=True),
    sa.Column('ocpp_version', sa.String(length=16), nullable=True),
    sa.Column('ping_interval', sa.Float(), nullable=True),
    sa.Column('lenient_actions', sa.JSON(), nullable=False),
    sa.Column('connected', sa.Boolean(), nullable=False),
    sa.Column('connected_node', sa.String(length=64), nullable=True),
    sa.Column('connected_at', voltline.store.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('disconnected_at', voltline.store.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_seen_at', voltline.store.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_heartbeat_at', voltline.store.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_boot_at', voltline.store.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('remote_address', sa.String(length=64), nullable=True),
    sa.Column('firmware_status', sa.String(length=32), nullable=True),
    sa.Column('firmware_status_at', voltline.store.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('diagnostics_status', sa.String(length=32), nullable=True),
    sa.Column('diagnostics_status_at', voltline.store.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('local_list_version', sa.Integer(), nullable=True),
    sa.Column('created_at', voltline.store.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', voltline.store.tables.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_charge_points'))
    )
    op.create_table('id_tags',
    sa.Column('id_tag', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('expiry_date', voltline.store.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('parent_id_tag', sa.String(length=20), nullable=True),
    sa.Column('description', sa.String(length=255), nullable=True),
    sa.Column('created_at', voltline.store.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', voltline.store.tables.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id_tag', name=op.f('pk_id_tags'))
    )
    op.create_table('messages',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('charge_point_id', sa.String(length=255), nullable=False),
    sa.Column('direction', sa.String(length=3), nullable=False),
    sa.Column('message_type', sa.SmallInteger(), nullable=False),
    sa.Column('message_id', sa.String(length=64), nullable=True),
    sa.Column('action', sa.String(length=64), nullable=True),
    sa.Column('error_code', sa.String(length=40), nullable=True),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('created_at', voltline.store.tables.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_messages'))
    )
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.create_index('ix_messages_action', ['action'], unique=False)
        batch_op.create_index('ix_messages_cp_time', ['charge_point_id', 'created_at'], unique=False)
        batch_op.create_index('ix_messages_created_at', ['created_at'], unique=False)

    op.create_table('meter_values',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('charge_point_id', sa.String(length=255), nullable=False),
    sa.Column('connector_id', sa.Integer(), nullable=False),
    sa.Column('transaction_id', sa.Integer(), nullable=True),
    sa.Column('timestamp', voltline.store.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('unit', sa.String(length=16), nullable=True),
    sa.Column('raw_value', sa.Text(), nullable=False),
    sa.Column('raw_unit', sa.String(length=16), nullable=True),
    sa.Column('measurand', sa.String(length=40), nullable=False),
    sa.Column('phase', sa.String(length=8), nullable=True),
    sa.Column('context', sa.String(length=24), nullable=False),
    sa.Column('location', sa.String(length=8), nullable=False),
    sa.Column('format', sa.String(length=12), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meter_values'))
    )
    with op.batch_alter_table('meter_values', schema=None) as batch_op:
        batch_op.create_index('ix_meter_values_cp_time', ['charge_point_id', 'timestamp'], unique=False)
        batch_op.create_index('ix_meter_values_transaction', ['transaction_id', 'timestamp'], unique=False)

    op.create_table('users',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('username', sa.String(length=100), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('created_at', voltline.store.tables.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('username', name=op.f('uq_users_username'))
    )
    op.create_table('charge_point_configuration',
    sa.Column('charge_point_id', sa.String(length=255), nullable=False),
    sa.Column('key', sa.String(length=50), nullable=False),
    sa.Column('value', sa.String(length=500), nullable=True),
    sa.Column('readonly', sa.Boolean(), nullable=False),
    sa.Column('updated_at', voltline.store.tables.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['charge_point_id'], ['charge_points.id'], name=op.f('fk_charge_point_configuration_charge_point_id_charge_points'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('charge_point_id', 'key', name=op.f('pk_charge_point_configuration'))
    )
    op.create_table('charge_point_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('charge_point_id', sa.String(length=255), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=64), nullable=True),
    sa.Column('request_id', sa.Integer(), nullable=True),
    sa.Column('timestamp', voltline.store.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['charge_point_id'], ['charge_points.id'], name=op.f('fk_charge_point_events_charge_point_id_charge_points'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_charge_point_events'))
    )
    with op.batch_alter_table('charge_point_events', schema=None) as batch_op:
        batch_op.create_index('ix_charge_point_events_cp_time', ['charge_point_id', 'timestamp'], unique=False)

    op.create_table('charging_profiles',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('charge_point_id', sa.String(length=255), nullable=False),
    sa.Column('connector_id', sa.Integer(), nullable=False),
    sa.Column('charging_profile_id', sa.Integer(), nullable=False),
    sa.Column('stack_level', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('recurrency_kind', sa.String(length=16), nullable=True),
    sa.Column('transaction_id', sa.Integer(), nullable=True),
    sa.Column('valid_from', voltline.store.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('valid_to', voltline.store.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('charging_schedule', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', voltline.store.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', voltline.store.tables.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['charge_point_id'], ['charge_points.id'], name=op.f('fk_charging_profiles_charge_point_id_charge_points'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_charging_profiles'))
    )
    with op.batch_alter_table('charging_profiles', schema=None) as batch_op:
        batch_op.create_index('ix_charging_profiles_cp', ['charge_point_id', 'connector_id'], unique=False)

    op.create_table('connectors',
    sa.Column('charge_point_id', sa.String(length=255), nullable=False),
    sa.Column('connector_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('error_code', sa.String(length=32), nullable=False),
    sa.Column('info', sa.String(length=50), nullable=True),
    sa.Column('vendor_id', sa.String(length=255), nullable=True),
    sa.Column('vendor_error_code', sa.String(length=50), nullable=True),
    sa.Column('status_at', voltline.store.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', voltline.store.tables.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['charge_point_id'], ['charge_points.id'], name=op.f('fk_connectors_charge_point_id_charge_points'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('charge_point_id', 'connector_id', name=op.f('pk_connectors'))
    )
    op.create_table('local_list_entries',
    sa.Column('charge_point_id', sa.String(length=255), nullable=False),
    sa.Column('id_tag', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('expiry_date', voltline.store.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('parent_id_tag', sa.String(length=20), nullable=True),
    sa.ForeignKeyConstraint(['charge_point_id'], ['charge_points.id'], name=op.f('fk_local_list_entries_charge_point_id_charge_points'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('charge_point_id', 'id_tag', name=op.f('pk_local_list_entries'))
    )
    op.create_table('remote_starts',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('charge_point_id', sa.String(length=255), nullable=False),
    sa.Column('connector_id', sa.Integer(), nullable=True),
    sa.Column('id_tag', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('transaction_id', sa.Integer(), nullable=True),
    sa.Column('requested_at', voltline.store.tables.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['charge_point_id'], ['charge_points.id'], name=op.f('fk_remote_starts_charge_point_id_charge_points'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_remote_starts'))
    )
    with op.batch_alter_table('remote_starts', schema=None) as batch_op:
        batch_op.create_index('ix_remote_starts_cp', ['charge_point_id', 'requested_at'], unique=False)

    op.create_table('reservations',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('charge_point_id', sa.String(length=255), nullable=False),
    sa.Column('connector_id', sa.Integer(), nullable=False),
    sa.Column('id_tag', sa.String(length=20), nullable=False),
    sa.Column('parent_id_tag', sa.String(length=20), nullable=True),
    sa.Column('expiry_date', voltline.store.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('transaction_id', sa.Integer(), nullable=True),
    sa.Column('created_at', voltline.store.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', voltline.store.tables.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['charge_point_id'], ['charge_points.id'], name=op.f('fk_reservations_charge_point_id_charge_points'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reservations'))
    )
    with op.batch_alter_table('reservations', schema=None) as batch_op:
        batch_op.create_index('ix_reservations_cp', ['charge_point_id', 'connector_id'], unique=False)

    op.create_table('transactions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('charge_point_id', sa.String(length=255), nullable=False),
    sa.Column('connector_id', sa.Integer(), nullable=False),
    sa.Column('id_tag', sa.String(length=20), nullable=False),
    sa.Column('id_tag_status', sa.String(length=16), nullable=False),
    sa.Column('reservation_id', sa.Integer(), nullable=True),
    sa.Column('meter_start', sa.BigInteger(), nullable=False),
    sa.Column('meter_stop', sa.BigInteger(), nullable=True),
    sa.Column('started_at', voltline.store.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('stopped_at', voltline.store.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('stop_reason', sa.String(length=32), nullable=True),
    sa.Column('stop_id_tag', sa.String(length=20), nullable=True),
    sa.Column('created_at', voltline.store.tables.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['charge_point_id'], ['charge_points.id'], name=op.f('fk_transactions_charge_point_id_charge_points'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transactions'))
    )
    with op.batch_alter_table('transactions', schema=None) as batch_op:
        batch_op.create_index('ix_transactions_cp_connector_started', ['charge_point_id', 'connector_id', 'started_at'], unique=False)
        batch_op.create_index('ix_transactions_id_tag', ['id_tag'], unique=False)
        batch_op.create_index('ix_transactions_started_at', ['started_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('transactions', schema=None) as batch_op:
        batch_op.drop_index('ix_transactions_started_at')
        batch_op.drop_index('ix_transactions_id_tag')
        batch_op.drop_index('ix_transactions_cp_connector_started')

    op.drop_table('transactions')
    with op.batch_alter_table('reservations', schema=None) as batch_op:
        batch_op.drop_index('ix_reservations_cp')

    op.drop_table('reservations')
    with op.batch_alter_table('remote_starts', schema=None) as batch_op:
        batch_op.drop_index('ix_remote_starts_cp')

    op.drop_table('remote_starts')
    op.drop_table('local_list_entries')
    op.drop_table('connectors')
    with op.batch_alter_table('charging_profiles', schema=None) as batch_op:
        batch_op.drop_index('ix_charging_profiles_cp')

    op.drop_table('charging_profiles')
    with op.batch_alter_table('charge_point_events', schema=None) as batch_op:
        batch_op.drop_index('ix_charge_point_events_cp_time')

    op.drop_table('charge_point_events')
    op.drop_table('charge_point_configuration')
    op.drop_table('users')
    with op.batch_alter_table('meter_values', schema=None) as batch_op:
        batch_op.drop_index('ix_meter_values_transaction')
        batch_op.drop_index('ix_meter_values_cp_time')

    op.drop_table('meter_values')
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index('ix_messages_created_at')
        batch_op.drop_index('ix_messages_cp_time')
        batch_op.drop_index('ix_messages_action')

    op.drop_table('messages')
    op.drop_table('id_tags')
    op.drop_table('charge_points')
    op.drop_table('api_tokens')
