"""A charging profile is checked as the domain holds it, and each problem named as the charge
point's version writes the field: what its schema refuses comes from that version alone."""

from __future__ import annotations

from tests.commands.support import online
from voltline.ocpp.commands import ChargingProfileSpec, ChargingSchedule, SchedulePeriod

# On connector 1, at stack level -1, with a limit 1.6 cannot carry (not a multiple of 0.1).
SPEC = ChargingProfileSpec(1, -1, "ChargePointMaxProfile", "Absolute", ChargingSchedule("W", (SchedulePeriod(0, 11000.05),)))


async def test_a_profile_is_named_in_the_domain_offline_and_in_16_once_connected(server, api, connect) -> None:  # type: ignore[no-untyped-def]
    service = server.services.smart_charging
    # Offline, nothing goes out in any version: the domain's rules, at the domain's fields.
    offline = await service.check_profile("CP-CHK", 1, SPEC)
    assert [(p.field, p.message) for p in offline] == [
        ("connector_id", "a ChargePointMaxProfile is set on connector 0, the whole charge point"),
        ("profile.stack_level", "must be 0 or more"),
    ]

    await online(api, connect, "CP-CHK")
    found = await service.check_profile("CP-CHK", 1, SPEC)
    named = {(p.path, p.field) for p in found}
    assert (("connector_id",), "connectorId") in named
    assert (("profile", "stack_level"), "csChargingProfiles.stackLevel") in named
    # The 1.6 schema's own rule, placed at the domain's field too (where the dashboard shows it).
    limit = [p for p in found if p.field == "csChargingProfiles.chargingSchedule.chargingSchedulePeriod[0].limit"]
    assert [(p.path, p.message) for p in limit] == [(("profile", "schedule", "periods", 0, "limit"), "11000.05 is not a multiple of 0.1")]


async def test_a_tx_profile_without_its_transaction_is_refused_at_its_field(server, api, connect) -> None:  # type: ignore[no-untyped-def]
    await online(api, connect, "CP-TXP")
    tx = ChargingProfileSpec(2, 0, "TxProfile", "Relative", ChargingSchedule("A", (SchedulePeriod(0, 16.0),)))
    service = server.services.smart_charging
    assert [(p.field, p.message) for p in await service.check_profile("CP-TXP", 1, tx)] == [
        ("connectorId", "no transaction is running on connector 1")]
    named = ChargingProfileSpec(2, 0, "TxProfile", "Relative", tx.schedule, transaction_id=4242)
    assert [(p.field, p.message) for p in await service.check_profile("CP-TXP", 1, named)] == [
        ("csChargingProfiles.transactionId", "transaction 4242 is not running on connector 1")]
