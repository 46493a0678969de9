"""The domain services, built together over one store and one bus."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from voltline.bus.events import EventBus
from voltline.config import Settings
from voltline.ocpp.commands import ChangeConfiguration
from voltline.services.authorization.authorize import AuthorizationService
from voltline.services.provisioning.charge_points import ChargePointService
from voltline.services.remote_control.commands import CommandService
from voltline.services.configuration.service import ConfigurationService
from voltline.services.firmware.service import FirmwareService
from voltline.services.authorization.id_tags import IdTagService
from voltline.services.local_list.service import LocalListService
from voltline.services.message_log.recorder import MessageLog
from voltline.services.queries import Queries
from voltline.services.remote_control.remote_start import RemoteStartService
from voltline.services.reservations.service import ReservationService
from voltline.services.security.authority import AuthorityNotConfigured, CertificateAuthority
from voltline.services.security.certificates import IssuedCertificates
from voltline.services.security.charge_point_passwords import ChargePointPasswords
from voltline.services.security.installed_certificates import InstalledCertificates
from voltline.services.security.profiles import SecurityProfiles
from voltline.services.security.revocations import RevokedSerials
from voltline.services.security.client_certificates import ClientCertificateCheck
from voltline.services.security.passwords import PasswordHasher
from voltline.services.smart_charging.service import SmartChargingService
from voltline.services.security.api_tokens import TokenService
from voltline.services.transactions.service import TransactionService
from voltline.store.database import Store


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
    firmware: FirmwareService
    queries: Queries
    passwords: PasswordHasher
    certificates: IssuedCertificates
    charge_point_passwords: ChargePointPasswords
    security_profiles: SecurityProfiles
    installed_certificates: InstalledCertificates
    revoked_certificates: RevokedSerials

    @classmethod
    def build(
        cls, settings: Settings, store: Store, bus: EventBus, node_id: str,
        client_certificates: ClientCertificateCheck | None = None,
    ) -> Services:
        # Calls to charge points go through `commands`; app.py binds it to the gateway.
        commands = CommandService(bus)
        transactions = TransactionService(store, bus)
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
        return cls(
            store=store,
            bus=bus,
            charge_points=charge_points,
            authorization=AuthorizationService(store),
            transactions=transactions,
            message_log=MessageLog(
                store,
                enabled=settings.message_log,
                retention_days=settings.message_log_retention_days,
                max_buffer=settings.message_log_max_frames,
                max_bytes=settings.message_log_max_bytes,
            ),
            tokens=TokenService(store),
            commands=commands,
            id_tags=IdTagService(store, bus),
            remote_starts=RemoteStartService(store, bus, commands),
            reservations=ReservationService(store, bus, commands),
            smart_charging=SmartChargingService(store, bus, commands),
            local_list=LocalListService(store, bus, commands),
            configuration=configuration,
            firmware=FirmwareService(store, bus, commands),
            queries=Queries(
                store, transactions, commands.is_connected, charge_points.last_heartbeat, charge_points.is_registered
            ),
            passwords=passwords,
            certificates=certificates,
            charge_point_passwords=charge_point_passwords,
            security_profiles=security_profiles,
            installed_certificates=InstalledCertificates(store, bus, commands),
            revoked_certificates=revoked_certificates,
        )

    async def load(self) -> None:
        await self.charge_points.load()
        await self.transactions.restore_live()
        await self.revoked_certificates.load()


def _authority(settings: Settings) -> CertificateAuthority | None:
    """The configured CA, or None when none is: a configured one that cannot be read stops the
    start (AuthorityNotConfigured), rather than every charge point's request being refused."""
    if not settings.ca_cert and not settings.ca_key:
        return None
    if not settings.ca_cert or not settings.ca_key:
        raise AuthorityNotConfigured("set both ca_cert and ca_key, or neither")
    return CertificateAuthority.load(settings.ca_cert, settings.ca_key)
