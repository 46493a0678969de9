"""The domain services, built together over one store and one bus."""

from __future__ import annotations

from dataclasses import dataclass

from voltline.bus.events import EventBus
from voltline.config import Settings
from voltline.services.authorization import AuthorizationService
from voltline.services.charge_points import ChargePointService
from voltline.services.message_log import MessageLog
from voltline.services.tokens import TokenService
from voltline.services.transactions import TransactionService
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

    @classmethod
    def build(cls, settings: Settings, store: Store, bus: EventBus, node_id: str) -> Services:
        return cls(
            store=store,
            bus=bus,
            charge_points=ChargePointService(
                store,
                bus,
                auto_register=settings.auto_register,
                boot_policy=settings.boot_policy,
                heartbeat_interval=settings.heartbeat_interval,
                node_id=node_id,
            ),
            authorization=AuthorizationService(store),
            transactions=TransactionService(store, bus),
            message_log=MessageLog(
                store, enabled=settings.message_log, retention_days=settings.message_log_retention_days
            ),
            tokens=TokenService(store),
        )

    async def load(self) -> None:
        await self.charge_points.load()
        await self.transactions.restore_live()
