"""What an operator asks of a 2.0.1 charge point: RequestStart/StopTransaction, Reset, ChangeAvailability, UnlockConnector, TriggerMessage, ClearCache and the rest of the CS→CP Core messages (blocks B, C, F, G, L, M, N)."""

from __future__ import annotations

from voltline.ocpp.v201.blocks import Answers, Encoders, Handler201, Readers

HANDLERS: dict[str, Handler201] = {}
ENCODERS: Encoders = {}
READERS: Readers = {}
ANSWERS: Answers = {}
