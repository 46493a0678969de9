"""A 2.0.1 station asks Voltline's CA for its certificate (SignCertificate) and gets it with
CertificateSigned after the answer, as a 1.6 charge point does; a V2G certificate is not ours to sign."""

from __future__ import annotations

import httpx
from cryptography import x509
from cryptography.x509.oid import NameOID
from ocpp.v201 import call

from tests.integration import ca_fixtures
from tests.integration.ca_fixtures import CaFiles, make_csr
from tests.integration.sim_fixtures import eventually
from tests.v201.conftest import ConnectStation, boot_request
from voltline.app import Voltline

ca_files = ca_fixtures.ca_files
server = ca_fixtures.server
server_settings = ca_fixtures.server_settings


async def test_a_station_certificate_is_signed_and_delivered_after_the_answer(
    server: Voltline, api: httpx.AsyncClient, station: ConnectStation, ca_files: CaFiles
) -> None:
    await server.services.charge_points.register("CS-1")
    cp = await station("CS-1")
    await cp.call(boot_request())
    answer = await cp.call(call.SignCertificate(csr=make_csr("CS-1")[0], certificate_type="ChargingStationCertificate"))
    assert answer.status == "Accepted"

    await eventually(lambda: cp.certificates_signed, "the station receives CertificateSigned")
    [(chain, certificate_type)] = cp.certificates_signed
    assert certificate_type == "ChargingStationCertificate"
    leaf, ca = x509.load_pem_x509_certificates(chain.encode())
    leaf.verify_directly_issued_by(ca_files.authority.certificate)
    assert leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "CS-1"

    async def delivered() -> list[dict]:  # type: ignore[type-arg]
        items = (await api.get("/api/v1/certificates", params={"charge_point_id": "CS-1"})).json()["items"]
        return items if items and items[0]["delivery_status"] == "Accepted" else []

    [listed] = await eventually(delivered, "the certificate is listed as delivered")
    assert listed["serial"] == format(leaf.serial_number, "x")


async def test_a_v2g_request_and_a_bad_one_are_rejected(server: Voltline, station: ConnectStation) -> None:
    await server.services.charge_points.register("CS-1")
    cp = await station("CS-1")
    await cp.call(boot_request())
    v2g = await cp.call(call.SignCertificate(csr=make_csr("CS-1")[0], certificate_type="V2GCertificate"))
    assert v2g.status == "Rejected" and v2g.status_info["reason_code"] == "NotSupported"
    wrong_name = await cp.call(call.SignCertificate(csr=make_csr("CS-OTHER")[0]))
    assert wrong_name.status == "Rejected"
    assert cp.certificates_signed == []
