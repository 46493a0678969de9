"""TransactionEvent and MeterValues of a 2.0.1 charge point, and GetTransactionStatus (block E)."""

from __future__ import annotations

from voltline.ocpp.v201.blocks import Answers, Encoders, Handler201, Readers

HANDLERS: dict[str, Handler201] = {}
ENCODERS: Encoders = {}
READERS: Readers = {}
ANSWERS: Answers = {}
