"""GetTransactionStatus in 2.0.1's words, checked against the official 2.0.1 schemas."""

from __future__ import annotations

from voltline.ocpp import commands as c
from voltline.ocpp.schemas import OCPP201, validators
from voltline.ocpp.v201 import outbound


def test_read_transaction_status_is_get_transaction_status_and_its_answer_reads_back() -> None:
    schemas = validators(OCPP201)
    for request, payload in ((c.ReadTransactionStatus("tx-1"), {"transactionId": "tx-1"}), (c.ReadTransactionStatus(), {})):
        assert outbound.encode(request) == ("GetTransactionStatus", payload)
        schemas.validate_request("GetTransactionStatus", payload)
        assert outbound.read_request("GetTransactionStatus", payload) == request
    answer = {"ongoingIndicator": False, "messagesInQueue": True}
    schemas.validate_response("GetTransactionStatus", answer)
    assert outbound.decode_answer("GetTransactionStatus", answer) == c.TransactionStatusRead(None, False, True)
    assert outbound.decode_answer("GetTransactionStatus", {"messagesInQueue": False}) == c.TransactionStatusRead(None, None, False)
