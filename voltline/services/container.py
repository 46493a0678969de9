"""The domain services, built together over one store and one bus."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from voltline.bus.events import EventBus
from voltline.config import Settings
from voltline.ocpp.commands import ChangeConfiguration
from voltline.services.authorization.authorize import AuthorizationService
from voltline.services.authorization.views import IdTagViews
from voltline.services.message_log.views import MessageViews
from voltline.services.provisioning.views import ChargePointViews
from voltline.services.configuration.views import ConfigurationViews
from voltline.services.device_model.service import DeviceModelService
from voltline.services.device_model.views import DeviceModelViews
from voltline.services.firmware.views import ChargePointEventViews
from voltline.services.local_list.views import LocalListViews
from voltline.services.remote_control.views import RemoteStartViews
from voltline.services.reservations.views import ReservationViews
from voltline.services.smart_charging.views import ChargingProfileViews
from voltline.services.transactions.views import TransactionViews
from voltline.services.provisioning.charge_points import ChargePointService
from voltline.services.remote_control.commands import CommandService
from voltline.services.configuration.service import ConfigurationService
from voltline.services.firmware.service import FirmwareService
from voltline.services.authorization.id_tags import IdTagService
from voltline.services.local_list.service import LocalListService
from voltline.services.message_log.recorder import MessageLog
from voltline.services.reports.recorder import Rollups
from voltline.services.reports.service import Reports
from voltline.services.remote_control.remote_start import RemoteStartService
from voltline.services.reservations.service import ReservationService
from voltline.services.security.authority import AuthorityNotConfigured, CertificateAuthority
from voltline.services.security.certificates import IssuedCertificates
from voltline.services.security.views import CertificateViews
from voltline.services.security.charge_point_passwords import ChargePointPasswords
from voltline.services.security.installed_certificates import InstalledCertificates
from voltline.services.security.profiles import SecurityProfiles
from voltline.services.security.revocations import RevokedSerials
from voltline.services.security.client_certificates import ClientCertificateCheck
from voltline.services.security.passwords import PasswordHasher
from voltline.services.smart_charging.service import SmartChargingService
from voltline.services.security.api_tokens import TokenService
from voltline.services.transactions.service import TransactionService
from voltline.services.transactions.status import TransactionStatusService
from voltline.store.database import Store


@dataclass
class Views:
    """Each block's read model: what the REST API and the dashboard read, and only through these."""

    charge_points: ChargePointViews
    transactions: TransactionViews
    messages: MessageViews
    id_tags: IdTagViews
    reservations: ReservationViews
    charging_profiles: ChargingProfileViews
    configuration: ConfigurationViews
    events: ChargePointEventViews
    local_lists: LocalListViews
    remote_starts: RemoteStartViews
    certificates: CertificateViews
    device_model: DeviceModelViews


@dataclass
class Services:
    store: Store
    bus: EventBus
    charge_points: ChargePointService
    authorization: AuthorizationService
    transactions: TransactionService
    message_log: MessageLog
    tokens: TokenService
    commands: CommandService
    id_tags: IdTagService
    remote_starts: RemoteStartService
    reservations: ReservationService
    smart_charging: SmartChargingService
    local_list: LocalListService
    configuration: ConfigurationService
    device_model: DeviceModelService
    firmware: FirmwareService
    views: Views
    passwords: PasswordHasher
    rollups: Rollups
    reports: Reports
    certificates: IssuedCertificates
    charge_point_passwords: ChargePointPasswords
    security_profiles: SecurityProfiles
    installed_certificates: InstalledCertificates
    revoked_certificates: RevokedSerials
    transaction_status: TransactionStatusService

    @classmethod
    def build(
        cls, settings: Settings, store: Store, bus: EventBus, node_id: str,
        client_certificates: ClientCertificateCheck | None = None,
    ) -> Services:
        # Calls to charge points go through `commands`; app.py binds it to the gateway.
        commands = CommandService(bus)
        rollups = Rollups(store, enabled=settings.report_rollups, time_zone=settings.reports_time_zone)
        transactions = TransactionService(store, bus, rollups)
        passwords = PasswordHasher(settings.password_hash_threads, settings.password_hash_queue)
        charge_points = ChargePointService(
            store,
            bus,
            auto_register=settings.auto_register,
            boot_policy=settings.boot_policy,
            heartbeat_interval=settings.heartbeat_interval,
            node_id=node_id,
            hasher=passwords,
            single_node=not settings.redis_url,
            rollups=rollups,
            default_security_profile=settings.default_security_profile,
            certificates=client_certificates,
        )
        configuration = ConfigurationService(store, bus, commands)
        revoked_certificates = RevokedSerials(store)
        if client_certificates is not None:
            client_certificates.revocations = revoked_certificates
        certificates = IssuedCertificates(
            store,
            bus,
            commands,
            charge_points.record_event,
            _authority(settings),
            validity=dt.timedelta(days=settings.certificate_validity_days),
            renew_before=dt.timedelta(days=settings.certificate_renew_before_days),
            organization=settings.certificate_organization,
            on_revoked=revoked_certificates.revoked,
        )

        async def set_password(identity: str, password: str) -> None:
            await charge_points.update(identity, password=password)

        def has_password(identity: str) -> bool:
            access = charge_points.access(identity)
            return access is not None and access.password_hash is not None

        async def has_certificate(identity: str) -> bool:
            return await certificates.valid_for(identity) is not None

        charge_point_passwords = ChargePointPasswords(commands, set_password, charge_points.record_event)
        def profile_of(identity: str) -> int:
            access = charge_points.access(identity)
            return access.security_profile if access is not None else 0

        async def raised(identity: str, profile: int) -> None:
            await charge_points.update(identity, security_profile=profile)

        security_profiles = SecurityProfiles(
            store, commands, has_password, has_certificate, charge_points.record_event,
            profile_of=profile_of, raised=raised,
        )
        # The security rules come before the configuration's record of a changed key.
        commands.register(
            ChangeConfiguration,
            charge_point_passwords.guard_change_configuration(
                security_profiles.guard_change_configuration(commands.effect(ChangeConfiguration))
            ),
        )
        message_log = MessageLog(
            store,
            enabled=settings.message_log,
            retention_days=settings.message_log_retention_days,
            max_buffer=settings.message_log_max_frames,
            max_bytes=settings.message_log_max_bytes,
            hold=settings.message_log_hold_seconds,
        )
        return cls(
            store=store,
            bus=bus,
            charge_points=charge_points,
            authorization=AuthorizationService(store, rollups),
            transactions=transactions,
            message_log=message_log,
            tokens=TokenService(store),
            commands=commands,
            id_tags=IdTagService(store, bus),
            remote_starts=RemoteStartService(store, bus, commands),
            reservations=ReservationService(store, bus, commands),
            smart_charging=SmartChargingService(store, bus, commands),
            local_list=LocalListService(store, bus, commands),
            configuration=configuration,
            device_model=DeviceModelService(store, bus, commands),
            firmware=FirmwareService(store, bus, commands),
            views=Views(
                charge_points=ChargePointViews(
                    store, transactions.live, commands.is_connected, charge_points.last_heartbeat,
                    charge_points.is_registered,
                ),
                transactions=TransactionViews(store, transactions.live),
                messages=MessageViews(store, lambda charge_point: message_log.flush(charge_point=charge_point)),
                id_tags=IdTagViews(store),
                reservations=ReservationViews(store),
                charging_profiles=ChargingProfileViews(store),
                configuration=ConfigurationViews(store),
                events=ChargePointEventViews(store),
                local_lists=LocalListViews(store),
                remote_starts=RemoteStartViews(store),
                certificates=CertificateViews(store),
                device_model=DeviceModelViews(store, settings.device_report_timeout),
            ),
            passwords=passwords,
            rollups=rollups,
            reports=Reports(store, settings.reports_time_zone, commands.is_connected),
            certificates=certificates,
            charge_point_passwords=charge_point_passwords,
            security_profiles=security_profiles,
            installed_certificates=InstalledCertificates(store, bus, commands),
            revoked_certificates=revoked_certificates,
            transaction_status=TransactionStatusService(store, commands),
        )

    async def load(self) -> None:
        await self.charge_points.load()
        await self.transactions.restore_live()
        if self.rollups.enabled:
            await self.rollups.restore()
        await self.revoked_certificates.load()


def _authority(settings: Settings) -> CertificateAuthority | None:
    """The configured CA, or None when none is: a configured one that cannot be read stops the
    start (AuthorityNotConfigured), rather than every charge point's request being refused."""
    if not settings.ca_cert and not settings.ca_key:
        return None
    if not settings.ca_cert or not settings.ca_key:
        raise AuthorityNotConfigured("set both ca_cert and ca_key, or neither")
    return CertificateAuthority.load(settings.ca_cert, settings.ca_key)
