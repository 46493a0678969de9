"""The listener's TLS context is re-loaded in place: what a new handshake is served after a reload."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
import trustme

from voltline.gateway.tls import ServerTls, TlsFilesError


def write_pair(folder: Path, ca: trustme.CA, key_type: trustme.KeyType = trustme.KeyType.ECDSA) -> tuple[Path, Path]:
    issued = ca.issue_cert("localhost", key_type=key_type)
    cert, key = folder / "cert.pem", folder / "key.pem"
    cert.write_bytes(b"".join(pem.bytes() for pem in issued.cert_chain_pems))
    key.write_bytes(issued.private_key_pem.bytes())
    return cert, key


def served_by(server: ssl.SSLContext, ca: trustme.CA) -> bool:
    """Whether a client trusting only `ca` completes a handshake with a new connection of `server`."""
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    to_server, to_client = ssl.MemoryBIO(), ssl.MemoryBIO()
    from_server, from_client = ssl.MemoryBIO(), ssl.MemoryBIO()
    client = client_context.wrap_bio(to_client, from_client, server_hostname="localhost")
    served = server.wrap_bio(to_server, from_server, server_side=True)
    for _ in range(10):
        for side, outgoing, incoming in ((client, from_client, to_server), (served, from_server, to_client)):
            try:
                side.do_handshake()
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLCertVerificationError:
                return False
            incoming.write(outgoing.read())
        try:
            client.do_handshake()
            return True
        except ssl.SSLWantReadError:
            continue
        except ssl.SSLCertVerificationError:
            return False
    raise AssertionError("the handshake did not finish")


def test_a_renewed_pair_is_served_by_the_same_context(tmp_path: Path) -> None:
    old_ca, new_ca = trustme.CA(), trustme.CA()
    cert, key = write_pair(tmp_path, old_ca)
    tls = ServerTls(str(cert), str(key))
    listening = tls.context
    assert served_by(listening, old_ca) and not served_by(listening, new_ca)

    write_pair(tmp_path, new_ca)
    assert tls.reload_if_changed() and tls.reloads == 1
    assert tls.context is listening
    assert served_by(listening, new_ca) and not served_by(listening, old_ca)


def test_a_pair_that_does_not_fit_or_changes_key_type_leaves_the_served_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    old_ca, other_ca = trustme.CA(), trustme.CA()
    cert, key = write_pair(tmp_path, old_ca)
    tls = ServerTls(str(cert), str(key))

    elsewhere = tmp_path / "other"
    elsewhere.mkdir()
    _, foreign_key = write_pair(elsewhere, other_ca)
    key.write_bytes(foreign_key.read_bytes())  # a key that is not the certificate's
    assert not tls.reload()
    assert served_by(tls.context, old_ca)

    write_pair(tmp_path, other_ca, key_type=trustme.KeyType.RSA)  # a fitting pair, but RSA for EC
    assert not tls.reload()
    assert "takes a restart" in caplog.text
    assert served_by(tls.context, old_ca) and not served_by(tls.context, other_ca)
    assert tls.reloads == 0


def test_unreadable_files_are_refused_at_the_start(tmp_path: Path) -> None:
    with pytest.raises(TlsFilesError):
        ServerTls(str(tmp_path / "missing.pem"), str(tmp_path / "missing.key"))
