"""assistant sessions indexed by their last update (the expiry sweep reads the oldest first)

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("assistant_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_assistant_sessions_updated_at"), ["updated_at"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("assistant_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assistant_sessions_updated_at"))
