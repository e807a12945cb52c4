"""interface.speed_bps as a 64-bit integer

Speeds above 2^31 - 1 bit/s (any 10G port, ifHighSpeed × 10^6) overflowed PostgreSQL's INTEGER and
stopped ``netmon run`` at its first poll. SQLite stores 64-bit integers either way.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("interface", schema=None) as batch_op:
        batch_op.alter_column("speed_bps", existing_type=sa.Integer(), type_=sa.BigInteger(), existing_nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("interface", schema=None) as batch_op:
        batch_op.alter_column("speed_bps", existing_type=sa.BigInteger(), type_=sa.Integer(), existing_nullable=True)
