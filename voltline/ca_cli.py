"""`voltline ca`: the certificate authority that signs charge point certificates."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from cryptography.hazmat.primitives import hashes

from voltline.services.security.authority import CertificateAuthority

ca_app = typer.Typer(help="Voltline's certificate authority for charge point certificates.", no_args_is_help=True)



@ca_app.callback()
def _group() -> None:
    """Voltline's certificate authority for charge point certificates."""


ConfigOption = Annotated[Optional[str], typer.Option("--config", help="a TOML settings file")]


@ca_app.command("init")
def ca_init(
    config: ConfigOption = None,
    cert: Annotated[Optional[str], typer.Option(help="where the CA certificate goes (setting ca_cert)")] = None,
    key: Annotated[Optional[str], typer.Option(help="where the CA key goes (setting ca_key)")] = None,
    common_name: Annotated[str, typer.Option(help="the CA certificate's subject CN")] = "Voltline charge point CA",
    organization: Annotated[
        Optional[str], typer.Option(help="the CA certificate's subject O (default: certificate_organization)")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="replace an existing CA (its certificates stop chaining)")] = False,
) -> None:
    """Make a CA key and a self-signed CA certificate at the configured paths."""
    from voltline.cli import load_settings

    settings = load_settings(config, ca_cert=cert, ca_key=key)
    if not settings.ca_cert or not settings.ca_key:
        typer.echo("voltline: set ca_cert and ca_key (or pass --cert and --key): where the CA goes", err=True)
        raise typer.Exit(2)
    cert_path, key_path = Path(settings.ca_cert), Path(settings.ca_key)
    existing = [str(p) for p in (cert_path, key_path) if p.exists()]
    if existing and not force:
        typer.echo(f"voltline: {', '.join(existing)} exists; --force replaces the CA", err=True)
        raise typer.Exit(1)
    authority = CertificateAuthority.create(common_name, organization or settings.certificate_organization)
    authority.write(cert_path, key_path)
    fingerprint = authority.certificate.fingerprint(hashes.SHA256()).hex(":")
    typer.echo(f"CA key written to {key_path} (owner only), certificate to {cert_path}")
    typer.echo(f"SHA-256 fingerprint {fingerprint}")
    typer.echo("charge point certificates it signs chain to this certificate: trust it for client certificates")
