"""Firmware, logs, customer data and certificates on a simulated 2.0.1 station: UpdateFirmware
and GetLog (with their status notifications, by `maintenance`), CustomerInformation,
InstallCertificate, GetInstalledCertificateIds, DeleteCertificate; ClearCache and DataTransfer
are answered as on 1.6."""

from __future__ import annotations

from typing import Any

from voltline.simulator import handlers as handlers16
from voltline.simulator.clock import iso
from voltline.simulator.handlers import after_answer
from voltline.simulator.v201.records import Transaction201
from voltline.simulator.v201.transactions import TransactionEventsPart as Station

Payload = dict[str, Any]
CERTIFICATE_TYPES = ("V2GRootCertificate", "MORootCertificate", "CSMSRootCertificate", "ManufacturerRootCertificate")


async def update_firmware(cp: Station, payload: Payload) -> Payload:
    return {"status": cp.maintenance.start_signed_firmware_update(payload["requestId"], payload["firmware"])}


async def get_log(cp: Station, payload: Payload) -> Payload:
    status, name = cp.maintenance.start_log_upload(payload["requestId"], payload["logType"])
    return {"status": status, "filename": name}


def _customer_data(cp: Station, token: str | None) -> str:
    """What the station holds about a customer: the cached authorization and the transactions."""
    if token is None:
        return "No data held for this customer."
    sessions = [tx for tx in cp.transactions if isinstance(tx, Transaction201) and tx.id_tag == token]
    cached = [info["status"] for key, info in cp.auth_cache.entries.items() if key.endswith(f":{token}")]
    parts = [f"idToken {token}: {len(sessions)} transactions"]
    if sessions:
        parts.append(f"last started {iso(sessions[-1].started_at)}")
    if cached:
        parts.append(f"cached authorization {cached[0]}")
    return "; ".join(parts)[:512]


async def customer_information(cp: Station, payload: Payload) -> Payload:
    token = (payload.get("idToken") or {}).get("idToken")
    if token is None and "customerIdentifier" not in payload and "customerCertificate" not in payload:
        return {"status": "Invalid"}
    request_id = payload["requestId"]

    def answer() -> None:
        data = _customer_data(cp, token) if payload["report"] else ""
        if payload["clear"] and token is not None:
            for key in [k for k in cp.auth_cache.entries if k.endswith(f":{token}")]:
                del cp.auth_cache.entries[key]
            data = (data + " Cleared.").strip()
        notification = {
            "data": data or "Cleared.",
            "seqNo": 0,
            "tbc": False,
            "generatedAt": iso(cp.clock.now()),
            "requestId": request_id,
        }
        cp.customer_reports.append(notification)
        cp.send_requested("NotifyCustomerInformation", notification)

    after_answer(cp, answer)
    return {"status": "Accepted"}


async def install_certificate(cp: Station, payload: Payload) -> Payload:
    return {"status": cp.certificates.install(payload["certificateType"], payload["certificate"])}


async def get_installed_certificate_ids(cp: Station, payload: Payload) -> Payload:
    wanted = payload.get("certificateType") or list(CERTIFICATE_TYPES)
    chain = [
        {"certificateType": kind, "certificateHashData": hash_data}
        for kind in wanted
        for hash_data in cp.certificates.ids(kind)
    ]
    if not chain:
        return {"status": "NotFound"}
    return {"status": "Accepted", "certificateHashDataChain": chain}


async def delete_certificate(cp: Station, payload: Payload) -> Payload:
    return {"status": cp.certificates.delete(payload["certificateHashData"])}


HANDLERS = {
    "ClearCache": handlers16.clear_cache,
    "CustomerInformation": customer_information,
    "DataTransfer": handlers16.data_transfer,
    "DeleteCertificate": delete_certificate,
    "GetInstalledCertificateIds": get_installed_certificate_ids,
    "GetLog": get_log,
    "InstallCertificate": install_certificate,
    "UpdateFirmware": update_firmware,
}
