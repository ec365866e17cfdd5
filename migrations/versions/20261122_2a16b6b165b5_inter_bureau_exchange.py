"""inter-bureau exchange: outbox, inbox, refused messages, received exposures; the complainant's
keyed hash on complaints; whistles a peer bureau blew

Revision ID: 2a16b6b165b5
Revises: 75d6a47430d8
Create Date: 2026-11-22 05:41:50.137131

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '2a16b6b165b5'
down_revision = '75d6a47430d8'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('exchange_rejections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rejected_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sender', sa.String(length=40), nullable=True),
    sa.Column('recipient', sa.String(length=40), nullable=True),
    sa.Column('message_id', sa.String(length=64), nullable=True),
    sa.Column('type', sa.String(length=40), nullable=True),
    sa.Column('error', sa.String(length=40), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('remote_addr', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exchange_rejections'))
    )
    with op.batch_alter_table('exchange_rejections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exchange_rejections_rejected_at'), ['rejected_at'], unique=False)

    op.create_table('inbox_messages',
    sa.Column('message_id', sa.String(length=36), nullable=False),
    sa.Column('type', sa.String(length=40), nullable=False),
    sa.Column('sender', sa.String(length=8), nullable=False),
    sa.Column('recipient', sa.String(length=8), nullable=False),
    sa.Column('case_no', sa.String(length=24), nullable=True),
    sa.Column('body_hash', sa.String(length=64), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answer', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('message_id', name=op.f('pk_inbox_messages'))
    )
    with op.batch_alter_table('inbox_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inbox_messages_sender'), ['sender'], unique=False)

    op.create_table('outbox_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.String(length=36), nullable=False),
    sa.Column('type', sa.String(length=40), nullable=False),
    sa.Column('sender', sa.String(length=8), nullable=False),
    sa.Column('recipient', sa.String(length=8), nullable=False),
    sa.Column('case_no', sa.String(length=24), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answer', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_messages')),
    sa.UniqueConstraint('message_id', name=op.f('uq_outbox_messages_message_id'))
    )
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_messages_due', ['state', 'recipient', 'id'], unique=False)

    op.create_table('received_exposures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.String(length=36), nullable=False),
    sa.Column('bureau_code', sa.String(length=8), nullable=False),
    sa.Column('case_no', sa.String(length=24), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_received_exposures')),
    sa.UniqueConstraint('message_id', name=op.f('uq_received_exposures_message_id'))
    )
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.add_column(sa.Column('complainant_key', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_complaints_complainant_key'), ['complainant_key'], unique=False)

    with op.batch_alter_table('whistles', schema=None) as batch_op:
        batch_op.add_column(sa.Column('peer_bureau', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('peer_whistle_id', sa.Integer(), nullable=True))



def downgrade():
    with op.batch_alter_table('whistles', schema=None) as batch_op:
        batch_op.drop_column('peer_whistle_id')
        batch_op.drop_column('peer_bureau')

    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_complaints_complainant_key'))
        batch_op.drop_column('complainant_key')

    op.drop_table('received_exposures')
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_messages_due')

    op.drop_table('outbox_messages')
    with op.batch_alter_table('inbox_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbox_messages_sender'))

    op.drop_table('inbox_messages')
    with op.batch_alter_table('exchange_rejections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exchange_rejections_rejected_at'))

    op.drop_table('exchange_rejections')
