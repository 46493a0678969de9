"""Central system → charge point commands and their effect on the simulated station."""

import shutil
import subprocess
from datetime import UTC, datetime

import pytest
from cryptography import x509
from ocpp.v16 import call

FAST = {"speed": 500.0, "meter_interval": 10}


def _now():
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


async def test_soft_and_hard_reset(csms, make_simulator):
    async with make_simulator(**FAST) as sim:
        cp = sim["CP-1"]
        tx = await cp.plug_in(1, "TAG1")
        tx_id = await tx.wait_confirmed()
        assert (await csms.call("CP-1", call.Reset(type="Soft"))).status == "Accepted"
        stop = await csms.wait_message("CP-1", "StopTransaction")
        assert stop["transactionId"] == tx_id and stop["reason"] == "SoftReset"
        await csms.wait_for(lambda: len(csms.messages("CP-1", "BootNotification")) == 2)
        await cp.wait_accepted()
        assert cp.connections == 2
        # The car is still plugged in after the reboot, its session over.
        await csms.wait_for(lambda: csms.actions("CP-1")[-1] == "StatusNotification")

        tx2 = await cp.present_tag(1, "TAG2")
        tx2_id = await tx2.wait_confirmed()
        assert (await csms.call("CP-1", call.Reset(type="Hard"))).status == "Accepted"
        stop2 = await csms.wait_message("CP-1", "StopTransaction", lambda p: p["transactionId"] == tx2_id)
        assert stop2["reason"] == "HardReset"
        await csms.wait_for(lambda: len(csms.messages("CP-1", "BootNotification")) == 3)


async def test_change_availability(csms, make_simulator):
    async with make_simulator(connectors=2, **FAST) as sim:
        cp = sim["CP-1"]
        tx = await cp.plug_in(2, "TAG1")
        await tx.wait_confirmed()

        idle = await csms.call("CP-1", call.ChangeAvailability(connector_id=1, type="Inoperative"))
        assert idle.status == "Accepted"
        await csms.wait_status("CP-1", 1, "Unavailable")
        refused = await csms.call("CP-1", call.RemoteStartTransaction(id_tag="R", connector_id=1))
        assert refused.status == "Rejected"

        busy = await csms.call("CP-1", call.ChangeAvailability(connector_id=2, type="Inoperative"))
        assert busy.status == "Scheduled"
        assert cp.status(2) == "Charging"
        await cp.stop_charging(2)
        await csms.wait_status("CP-1", 2, "Unavailable")

        back = await csms.call("CP-1", call.ChangeAvailability(connector_id=0, type="Operative"))
        assert back.status == "Accepted"
        await csms.wait_for(lambda: cp.status(1) == "Available" and cp.status(2) == "Finishing")
        whole = await csms.call("CP-1", call.ChangeAvailability(connector_id=0, type="Inoperative"))
        assert whole.status == "Accepted"
        await csms.wait_status("CP-1", 0, "Unavailable")
        assert (
            await csms.call("CP-1", call.ChangeAvailability(connector_id=5, type="Inoperative"))
        ).status == "Rejected"


async def test_configuration_get_and_change(csms, make_simulator):
    async with make_simulator(connectors=2, **FAST) as sim:
        cp = sim["CP-1"]
        answer = await csms.call(
            "CP-1", call.GetConfiguration(key=["NumberOfConnectors", "HeartbeatInterval", "NoSuchKey"])
        )
        keys = {k["key"]: k for k in answer.configuration_key}
        assert keys["NumberOfConnectors"] == {"key": "NumberOfConnectors", "readonly": True, "value": "2"}
        assert keys["HeartbeatInterval"]["readonly"] is False
        assert answer.unknown_key == ["NoSuchKey"]

        everything = await csms.call("CP-1", call.GetConfiguration())
        names = {k["key"] for k in everything.configuration_key}
        assert {
            "MeterValuesSampledData",
            "AuthorizeRemoteTxRequests",
            "LocalAuthListEnabled",
            "ConnectionTimeOut",
            "WebSocketPingInterval",
            "MeterValueSampleInterval",
        } <= names
        assert not everything.unknown_key

        async def change(key, value):
            return (await csms.call("CP-1", call.ChangeConfiguration(key=key, value=value))).status

        assert await change("NumberOfConnectors", "4") == "Rejected"
        assert await change("NoSuchKey", "1") == "NotSupported"
        assert await change("HeartbeatInterval", "often") == "Rejected"
        assert await change("MeterValuesSampledData", "Energy.Active.Import.Register,Bogus") == "Rejected"
        assert await change("MeterValuesSampledData", "Energy.Active.Import.Register,SoC") == "Accepted"
        assert await change("HeartbeatInterval", "2") == "Accepted"
        assert cp.config.get("NumberOfConnectors") == "2"

        # The new interval takes effect at once.
        before = len(csms.messages("CP-1", "Heartbeat"))
        await csms.wait_for(lambda: len(csms.messages("CP-1", "Heartbeat")) >= before + 3)
        tx = await cp.plug_in(1, "TAG1")
        await tx.wait_confirmed()
        meter = await csms.wait_message("CP-1", "MeterValues")
        assert [v["measurand"] for v in meter["meterValue"][0]["sampledValue"]] == [
            "Energy.Active.Import.Register",
            "SoC",
        ]


async def test_trigger_message_sends_what_was_asked(csms, make_simulator):
    async with make_simulator(connectors=2, **FAST) as sim:
        cp = sim["CP-1"]
        tx = await cp.plug_in(1, "TAG1")
        tx_id = await tx.wait_confirmed()

        async def trigger(message, connector_id=None, extended=False):
            request = (call.ExtendedTriggerMessage if extended else call.TriggerMessage)(
                requested_message=message, connector_id=connector_id
            )
            count = len(csms.received)
            answer = await csms.call("CP-1", request)
            return answer.status, count

        status, count = await trigger("StatusNotification", 2)
        assert status == "Accepted"
        await csms.wait_for(
            lambda: any(a == "StatusNotification" and p["connectorId"] == 2 for _, a, p in csms.received[count:])
        )
        status, count = await trigger("MeterValues", 1)
        triggered = await csms.wait_for(
            lambda: next(
                (
                    p
                    for _, a, p in csms.received[count:]
                    if a == "MeterValues" and p["meterValue"][0]["sampledValue"][0]["context"] == "Trigger"
                ),
                None,
            )
        )
        assert triggered["transactionId"] == tx_id
        status, count = await trigger("Heartbeat")
        await csms.wait_for(lambda: "Heartbeat" in [a for _, a, _ in csms.received[count:]])
        status, count = await trigger("BootNotification")
        await csms.wait_for(lambda: "BootNotification" in [a for _, a, _ in csms.received[count:]])
        status, count = await trigger("FirmwareStatusNotification")
        firmware = await csms.wait_message("CP-1", "FirmwareStatusNotification")
        assert firmware == {"status": "Idle"}
        status, count = await trigger("LogStatusNotification", extended=True)
        assert status == "Accepted"
        assert (await csms.wait_message("CP-1", "LogStatusNotification")) == {"status": "Idle"}
        assert (await trigger("SignChargePointCertificate", extended=True))[0] == "Accepted"
        request = await csms.wait_message("CP-1", "SignCertificate")
        csr = x509.load_pem_x509_csr(request["csr"].encode())
        assert csr.is_signature_valid
        assert csr.subject.rfc4514_string() == "CN=CP-1"
        assert (await trigger("StatusNotification", 7))[0] == "Rejected"


async def test_firmware_update_and_diagnostics_report_their_progress(csms, make_simulator):
    async with make_simulator(**FAST) as sim:
        cp = sim["CP-1"]
        await csms.call("CP-1", call.UpdateFirmware(location="http://127.0.0.1/fw-2.1.0.bin", retrieve_date=_now()))
        await csms.wait_message("CP-1", "FirmwareStatusNotification", lambda p: p["status"] == "Installed")
        statuses = [p["status"] for p in csms.messages("CP-1", "FirmwareStatusNotification")]
        assert statuses == ["Downloading", "Downloaded", "Installing", "Installed"]
        boots = csms.messages("CP-1", "BootNotification")
        assert len(boots) == 2 and boots[1]["firmwareVersion"] == "fw-2.1.0"
        assert cp.firmware_version == "fw-2.1.0"

        answer = await csms.call("CP-1", call.GetDiagnostics(location="ftp://127.0.0.1/upload"))
        assert answer.file_name.startswith("diagnostics-CP-1-")
        await csms.wait_message("CP-1", "DiagnosticsStatusNotification", lambda p: p["status"] == "Uploaded")
        statuses = [p["status"] for p in csms.messages("CP-1", "DiagnosticsStatusNotification")]
        assert statuses == ["Uploading", "Uploaded"]

        cp.maintenance.firmware_failure = "DownloadFailed"
        await csms.call("CP-1", call.UpdateFirmware(location="http://127.0.0.1/fw-3.bin", retrieve_date=_now()))
        await csms.wait_message("CP-1", "FirmwareStatusNotification", lambda p: p["status"] == "DownloadFailed")
        assert cp.firmware_version == "fw-2.1.0"


async def test_security_extension_log_and_signed_firmware(csms, make_simulator):
    async with make_simulator(**FAST) as sim:
        log = await csms.call(
            "CP-1", call.GetLog(log_type="SecurityLog", request_id=5, log={"remoteLocation": "ftp://127.0.0.1/logs"})
        )
        assert log.status == "Accepted" and log.filename.startswith("security-CP-1-")
        await csms.wait_message("CP-1", "LogStatusNotification", lambda p: p["status"] == "Uploaded")
        assert [p for p in csms.messages("CP-1", "LogStatusNotification")] == [
            {"status": "Uploading", "requestId": 5},
            {"status": "Uploaded", "requestId": 5},
        ]
        firmware = {
            "location": "http://127.0.0.1/fw-4.0.bin",
            "retrieveDateTime": _now(),
            "signingCertificate": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
            "signature": "c2lnbmF0dXJl",
        }
        bad = await csms.call(
            "CP-1", call.SignedUpdateFirmware(request_id=8, firmware={**firmware, "signingCertificate": "junk"})
        )
        assert bad.status == "InvalidCertificate"
        assert (
            await csms.call("CP-1", call.SignedUpdateFirmware(request_id=9, firmware=firmware))
        ).status == "Accepted"
        await csms.wait_message("CP-1", "SignedFirmwareStatusNotification", lambda p: p["status"] == "Installed")
        statuses = [p["status"] for p in csms.messages("CP-1", "SignedFirmwareStatusNotification")]
        assert statuses == [
            "Downloading",
            "Downloaded",
            "SignatureVerified",
            "Installing",
            "InstallRebooting",
            "Installed",
        ]
        assert all(p["requestId"] == 9 for p in csms.messages("CP-1", "SignedFirmwareStatusNotification"))
        assert sim["CP-1"].firmware_version == "fw-4.0"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make a certificate")
async def test_certificate_store(csms, make_simulator, tmp_path):
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=Test Root",
            "-set_serial",
            "0x1234",
        ],
        check=True,
        capture_output=True,
    )
    pem = cert.read_text()
    async with make_simulator(**FAST):
        empty = await csms.call(
            "CP-1", call.GetInstalledCertificateIds(certificate_type="CentralSystemRootCertificate")
        )
        assert empty.status == "NotFound"
        installed = await csms.call(
            "CP-1", call.InstallCertificate(certificate_type="CentralSystemRootCertificate", certificate=pem)
        )
        assert installed.status == "Accepted"
        broken = await csms.call(
            "CP-1", call.InstallCertificate(certificate_type="CentralSystemRootCertificate", certificate="nope")
        )
        assert broken.status == "Rejected"
        ids = await csms.call("CP-1", call.GetInstalledCertificateIds(certificate_type="CentralSystemRootCertificate"))
        assert ids.status == "Accepted"
        (hash_data,) = ids.certificate_hash_data
        assert hash_data["serial_number"] == "1234"
        assert hash_data["hash_algorithm"] == "SHA256"
        camel = {
            "hashAlgorithm": "SHA256",
            "issuerNameHash": hash_data["issuer_name_hash"],
            "issuerKeyHash": hash_data["issuer_key_hash"],
            "serialNumber": "1234",
        }
        assert (await csms.call("CP-1", call.DeleteCertificate(certificate_hash_data=camel))).status == "Accepted"
        assert (await csms.call("CP-1", call.DeleteCertificate(certificate_hash_data=camel))).status == "NotFound"
        signed = await csms.call("CP-1", call.CertificateSigned(certificate_chain=pem))
        assert signed.status == "Rejected"  # the station never asked for a certificate


async def test_unlock_clear_cache_and_data_transfer(csms, make_simulator):
    async with make_simulator(**FAST) as sim:
        cp = sim["CP-1"]
        tx = await cp.plug_in(1, "TAG1")
        tx_id = await tx.wait_confirmed()
        assert cp.auth_cache.lookup("TAG1") == {"status": "Accepted"}
        assert (await csms.call("CP-1", call.ClearCache())).status == "Accepted"
        assert cp.auth_cache.lookup("TAG1") is None
        assert (await csms.call("CP-1", call.UnlockConnector(connector_id=1))).status == "Unlocked"
        stop = await csms.wait_message("CP-1", "StopTransaction")
        assert stop["transactionId"] == tx_id and stop["reason"] == "UnlockCommand"
        unknown = await csms.call("CP-1", call.DataTransfer(vendor_id="Elsewhere", message_id="x"))
        assert unknown.status == "UnknownVendorId"
        echo = await csms.call("CP-1", call.DataTransfer(vendor_id="Voltline", message_id="Echo", data="ping"))
        assert echo.status == "Accepted" and echo.data == "ping"


async def test_a_silent_station_keeps_its_socket_but_answers_nothing(csms, make_simulator):
    csms.response_timeout = 0.3
    async with make_simulator(**FAST) as sim:
        cp = sim["CP-1"]
        await cp.go_silent()
        with pytest.raises(TimeoutError):
            await csms.call("CP-1", call.GetLocalListVersion())
        assert cp.connected and csms.connects == 1
        await cp.resume()
        assert (await csms.call("CP-1", call.GetLocalListVersion())).list_version == 0
