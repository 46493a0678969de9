"""What each OCPP security profile asks of a connection (security whitepaper, DESIGN §6).

  0  nothing (a password, where one is set, is still required)
  1  HTTP Basic password, over plain ws:// or TLS
  2  TLS (the server's certificate) and the HTTP Basic password
  3  TLS with a client certificate that proves the identity; no password

A connection weaker than its charge point's profile is refused at the handshake. The refusal
names a security event type, recorded on the charge point like those it reports itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from voltline.services.security.client_certificates import ClientCertificateCheck, PresentedCertificate

PROFILES = (0, 1, 2, 3)

# Security event types recorded for refused handshakes (the whitepaper's names where it has one).
FAILED_AUTHENTICATION = "FailedToAuthenticateAtCentralSystem"
INVALID_CERTIFICATE = "InvalidChargePointCertificate"
INSECURE_CONNECTION = "InsecureConnection"


@dataclass(slots=True, frozen=True)
class ConnectionSecurity:
    """How a charge point reached us: over TLS or not (ended here, or at a trusted proxy), and
    the client certificate it presented, if any."""

    tls: bool
    certificate: PresentedCertificate | None = None
    via_proxy: bool = False


PLAIN = ConnectionSecurity(tls=False)


@dataclass(slots=True, frozen=True)
class ProfileRefusal:
    status: int  # the HTTP status of the refused handshake
    reason: str
    event: str  # the security event type recorded


def transport_refusal(
    identity: str, profile: int, security: ConnectionSecurity, certificates: ClientCertificateCheck | None
) -> ProfileRefusal | None:
    """What TLS and the client certificate fail of `profile`; the password is checked apart."""
    if profile >= 2 and not security.tls:
        return ProfileRefusal(403, f"security profile {profile} requires TLS: connect with wss://", INSECURE_CONNECTION)
    if profile < 3:
        return None
    if security.certificate is None:
        return ProfileRefusal(403, "security profile 3 requires a client certificate", INVALID_CERTIFICATE)
    if certificates is None:
        return ProfileRefusal(403, "no CA is trusted for charge point certificates (ocpp_tls_client_ca)", INVALID_CERTIFICATE)
    problem = certificates.problem(identity, security.certificate)
    if problem is not None:
        return ProfileRefusal(403, problem, INVALID_CERTIFICATE)
    return None
