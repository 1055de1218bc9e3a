"""Schema version 2: each report row keeps the trial's seconds and a multi-objective vector.

Version 1 kept both in the trial's system attributes (``report_seconds``,
``intermediate_vectors``); they are left there and still read, so the upgrade only adds
columns and runs in place.

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
    op.add_column("trial_intermediate_values", sa.Column("seconds", sa.Float, nullable=True))
    op.add_column("trial_intermediate_values", sa.Column("vector_json", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("trial_intermediate_values") as batch:
        batch.drop_column("vector_json")
        batch.drop_column("seconds")
