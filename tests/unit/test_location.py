"""The domain's location (EVSE and connector) and OCPP 1.6's connector numbers, mapped in one place."""

from __future__ import annotations

import pytest

from voltline.services.location import ConnectorRef


@pytest.mark.parametrize("connector_id", [0, 1, 2, 7])
def test_a_16_connector_is_an_evse_with_one_connector_and_maps_back(connector_id: int) -> None:
    ref = ConnectorRef.from_ocpp16(connector_id)
    assert ref.evse_id == connector_id
    assert ref.connector_id == (1 if connector_id else 0)
    assert ref.whole_charge_point is (connector_id == 0)
    assert ref.to_ocpp16() == connector_id
    assert ref.stored("1.6") == (None, connector_id)
    assert ConnectorRef.from_stored(None, connector_id) == ref


def test_a_201_location_is_stored_as_the_charge_point_numbers_it() -> None:
    ref = ConnectorRef(2, 3)
    assert ref.stored("2.0.1") == (2, 3)
    assert ConnectorRef.from_stored(2, 3) == ref
    # The same place, reported by a 1.6 charge point and by a 2.0.1 one.
    assert ConnectorRef.from_stored(None, 2) == ConnectorRef.from_stored(2, 1)


def test_what_16_cannot_name_and_what_does_not_exist_are_refused() -> None:
    with pytest.raises(ValueError, match="1.6 cannot name"):
        ConnectorRef(1, 2).to_ocpp16()
    with pytest.raises(ValueError, match="1.6 cannot name"):
        ConnectorRef(1, 2).stored("1.6")
    with pytest.raises(ValueError):
        ConnectorRef(0, 1)
    with pytest.raises(ValueError):
        ConnectorRef(1, 0)
    with pytest.raises(ValueError):
        ConnectorRef(-1, 1)
