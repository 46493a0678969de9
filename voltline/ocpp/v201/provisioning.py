"""Booting, heartbeats, status per EVSE and connector, authorization and the notifications of a 2.0.1 charge point (B, C, G, J, L, N blocks of OCPP 2.0.1 Part 2)."""

from __future__ import annotations

from voltline.ocpp.v201.blocks import Answers, Encoders, Handler201, Readers

HANDLERS: dict[str, Handler201] = {}
ENCODERS: Encoders = {}
READERS: Readers = {}
ANSWERS: Answers = {}
