"""Certificates: those Voltline's certificate authority issued, and the roots on charge points

`issued_certificates` keeps every certificate signed for a charge point (SignCertificate), with
its serial, validity, the charge point's answer to CertificateSigned and its revocation.
`installed_certificates` keeps the root certificates a charge point reported or accepted.
Both are new: no existing row changes.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

from voltline.store.tables import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "issued_certificates",
        sa.Column("serial", sa.String(40), nullable=False),
        sa.Column("charge_point_id", sa.String(255), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("not_before", UTCDateTime(), nullable=False),
        sa.Column("not_after", UTCDateTime(), nullable=False),
        sa.Column("pem", sa.Text(), nullable=False),
        sa.Column("delivery_status", sa.String(16), nullable=False),
        sa.Column("issued_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("revocation_reason", sa.String(255), nullable=True),
        sa.Column("renewal_requested_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("serial", name=op.f("pk_issued_certificates")),
    )
    op.create_index("ix_issued_certificates_cp", "issued_certificates", ["charge_point_id", "not_after"])
    op.create_table(
        "installed_certificates",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("charge_point_id", sa.String(255), nullable=False),
        sa.Column("certificate_type", sa.String(32), nullable=False),
        sa.Column("hash_algorithm", sa.String(8), nullable=False),
        sa.Column("issuer_name_hash", sa.String(128), nullable=False),
        sa.Column("issuer_key_hash", sa.String(128), nullable=False),
        sa.Column("serial_number", sa.String(40), nullable=False),
        sa.Column("pem", sa.Text(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["charge_point_id"], ["charge_points.id"],
            name=op.f("fk_installed_certificates_charge_point_id_charge_points"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_installed_certificates")),
    )
    op.create_index(
        "ix_installed_certificates_cp", "installed_certificates", ["charge_point_id", "certificate_type"]
    )


def downgrade() -> None:
    op.drop_index("ix_installed_certificates_cp", table_name="installed_certificates")
    op.drop_table("installed_certificates")
    op.drop_index("ix_issued_certificates_cp", table_name="issued_certificates")
    op.drop_table("issued_certificates")
