"""Firmware updates, diagnostics and log uploads, with the status notifications a real station sends
as each step takes its (simulated) time.

Nothing is downloaded or uploaded: the simulator never opens connections other than its OCPP
WebSocket. Failures can be injected (`firmware_failure`, `upload_failure`) to exercise how a
central system handles them. Progress notifications are persistent messages, so a step that
completes while the station is offline is still reported.
"""

from __future__ import annotations

import asyncio
import contextlib
import posixpath
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import urlparse

from voltline.simulator.clock import Clock, iso, parse_iso
from voltline.simulator.connector import Connector
from voltline.simulator.outbox import Outbox, Payload

DOWNLOAD_SECONDS = 30.0
INSTALL_SECONDS = 20.0
UPLOAD_SECONDS = 15.0
SIGNATURE_CHECK_SECONDS = 2.0
PEM_MARKER = "-----BEGIN CERTIFICATE-----"


def firmware_name(location: str, current: str) -> str:
    """The version a download from `location` installs: the file's name without extension."""
    stem = posixpath.splitext(posixpath.basename(urlparse(location).path))[0]
    return (stem or f"{current}-update")[:50]


class MaintainedStation(Protocol):
    """What maintenance needs of its station (the station's own state owns a Maintenance, so
    this module names the station by what it does, not by its class)."""

    identity: str
    firmware_version: str
    call_timeout: float
    boot_count: int
    clock: Clock
    connectors: dict[int, Connector]
    outbox: Outbox

    @property
    def online(self) -> bool: ...

    def send_persistent(
        self, action: str, build: Callable[[], Payload | None], on_result: Callable[[Payload], None] | None = None
    ) -> None: ...

    def _notify(self) -> None: ...

    def _spawn(self, coro: Coroutine[Any, Any, Any], name: str | None = None) -> asyncio.Task[Any]: ...

    async def wait_until(self, predicate: Callable[[], bool], timeout: float | None = 10.0) -> None: ...

    async def flush_in_flight(self) -> None: ...

    async def request_reboot(self) -> None: ...


class Maintenance:
    def __init__(self, station: MaintainedStation) -> None:
        self.station = station
        self.firmware_status = "Idle"
        self.firmware_busy = False
        self.firmware_request_id: int | None = None  # set while a SignedUpdateFirmware runs
        self.diagnostics_status = "Idle"
        self.diagnostics_busy = False
        self.log_status = "Idle"
        self.log_request_id: int | None = None
        self.log_busy = False
        self.firmware_failure: str | None = None  # "DownloadFailed" or "InstallationFailed", once
        self.upload_failure = False  # the next upload fails, once
        self.history: list[tuple[str, str]] = []  # (notification, status) in the order sent
        # 1.6's security extension names the progress of a signed update apart; 2.0.1, whose
        # UpdateFirmware is that same request, reports it as FirmwareStatusNotification.
        self.signed_firmware_action = "SignedFirmwareStatusNotification"

    # -- what a TriggerMessage reports -----------------------------------------------------

    def firmware_report(self) -> dict[str, Any]:
        return {"status": self.firmware_status if self.firmware_busy else "Idle"}

    def diagnostics_report(self) -> dict[str, Any]:
        return {"status": self.diagnostics_status if self.diagnostics_busy else "Idle"}

    def log_report(self) -> dict[str, Any]:
        if not self.log_busy:
            return {"status": "Idle"}
        return {"status": self.log_status, "requestId": self.log_request_id}

    # -- notifications ---------------------------------------------------------------------

    def _notify(self, action: str, payload: dict[str, Any]) -> None:
        self.history.append((action, payload["status"]))
        self.station.send_persistent(action, lambda: payload)
        self.station._notify()

    def _firmware(self, status: str) -> None:
        self.firmware_status = status
        if self.firmware_request_id is None:
            self._notify("FirmwareStatusNotification", {"status": status})
        else:
            self._notify(self.signed_firmware_action, {"status": status, "requestId": self.firmware_request_id})

    async def _sleep_until(self, moment: datetime) -> None:
        await self.station.clock.sleep((moment - self.station.clock.now()).total_seconds())

    async def _install(self, location: str, *, signed: bool) -> bool:
        """Install once no transaction runs (a station does not cut a session short), then reboot."""
        station = self.station
        await station.wait_until(lambda: not any(c.transaction for c in station.connectors.values()), None)
        self._firmware("Installing")
        await station.clock.sleep(INSTALL_SECONDS)
        if self.firmware_failure == "InstallationFailed":
            self.firmware_failure = None
            self._firmware("InstallationFailed")
            return False
        station.firmware_version = firmware_name(location, station.firmware_version)
        if signed:
            self._firmware("InstallRebooting")
        if station.online:
            # The progress so far reaches the central system before the station goes down.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(station.call_timeout):
                    await station.outbox.delivered.wait()
                    await station.flush_in_flight()
        boots = station.boot_count
        await station.request_reboot()
        await station.wait_until(lambda: station.boot_count > boots, None)
        self._firmware("Installed")
        return True

    # -- UpdateFirmware (1.6 core) ---------------------------------------------------------

    def start_firmware_update(self, location: str, retrieve_date: str) -> None:
        self.firmware_busy = True
        self.firmware_request_id = None
        self.station._spawn(self._update_firmware(location, parse_iso(retrieve_date)))

    async def _update_firmware(self, location: str, retrieve_at: datetime) -> None:
        try:
            await self._sleep_until(retrieve_at)
            self._firmware("Downloading")
            await self.station.clock.sleep(DOWNLOAD_SECONDS)
            if self.firmware_failure == "DownloadFailed":
                self.firmware_failure = None
                self._firmware("DownloadFailed")
                return
            self._firmware("Downloaded")
            await self._install(location, signed=False)
        finally:
            self.firmware_busy = False

    # -- SignedUpdateFirmware (security extension) -----------------------------------------

    def start_signed_firmware_update(self, request_id: int, firmware: dict[str, Any]) -> str:
        if self.firmware_busy:
            return "Rejected"
        # 1.6 requires a signing certificate and a signature; in 2.0.1 both are optional.
        certificate = firmware.get("signingCertificate")
        if certificate is not None and PEM_MARKER not in certificate:
            return "InvalidCertificate"
        self.firmware_busy = True
        self.firmware_request_id = request_id
        self.station._spawn(self._signed_update(firmware))
        return "Accepted"

    async def _signed_update(self, firmware: dict[str, Any]) -> None:
        try:
            await self._sleep_until(parse_iso(firmware["retrieveDateTime"]))
            self._firmware("Downloading")
            await self.station.clock.sleep(DOWNLOAD_SECONDS)
            if self.firmware_failure == "DownloadFailed":
                self.firmware_failure = None
                self._firmware("DownloadFailed")
                return
            self._firmware("Downloaded")
            signature = firmware.get("signature")
            if signature is not None:
                await self.station.clock.sleep(SIGNATURE_CHECK_SECONDS)
                if not signature.strip():
                    self._firmware("InvalidSignature")
                    return
                self._firmware("SignatureVerified")
            install_at = firmware.get("installDateTime")
            if install_at and parse_iso(install_at) > self.station.clock.now():
                self._firmware("InstallScheduled")
                await self._sleep_until(parse_iso(install_at))
            await self._install(firmware["location"], signed=True)
        finally:
            self.firmware_busy = False
            self.firmware_request_id = None

    # -- GetDiagnostics and GetLog ---------------------------------------------------------

    def _file_name(self, kind: str) -> str:
        stamp = iso(self.station.clock.now()).replace(":", "").replace("-", "")
        return f"{kind}-{self.station.identity}-{stamp}.log"[:255]

    def start_diagnostics(self) -> str:
        name = self._file_name("diagnostics")
        self.diagnostics_busy = True
        self.station._spawn(self._upload_diagnostics())
        return name

    async def _upload_diagnostics(self) -> None:
        try:
            self.diagnostics_status = "Uploading"
            self._notify("DiagnosticsStatusNotification", {"status": "Uploading"})
            await self.station.clock.sleep(UPLOAD_SECONDS)
            status = "UploadFailed" if self.upload_failure else "Uploaded"
            self.upload_failure = False
            self.diagnostics_status = status
            self._notify("DiagnosticsStatusNotification", {"status": status})
        finally:
            self.diagnostics_busy = False

    def start_log_upload(self, request_id: int, log_type: str) -> tuple[str, str]:
        """(GetLog status, file name); a new request replaces one still running."""
        status = "AcceptedCanceled" if self.log_busy else "Accepted"
        name = self._file_name("security" if log_type == "SecurityLog" else "diagnostics")
        self.log_busy = True
        self.log_request_id = request_id
        self.station._spawn(self._upload_log(request_id))
        return status, name

    async def _upload_log(self, request_id: int) -> None:
        def report(status: str) -> None:
            if self.log_request_id == request_id:
                self.log_status = status
                self._notify("LogStatusNotification", {"status": status, "requestId": request_id})

        try:
            report("Uploading")
            await self.station.clock.sleep(UPLOAD_SECONDS)
            report("UploadFailure" if self.upload_failure else "Uploaded")
            self.upload_failure = False
        finally:
            if self.log_request_id == request_id:
                self.log_busy = False
