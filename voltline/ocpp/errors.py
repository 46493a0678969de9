"""The one base of what goes wrong in speaking OCPP-J, so the layer above can tell a protocol
failure from a bug with a single `except`.

The failures themselves live beside what raises them (a bad frame in frames.py, a payload that
breaks its schema in schemas.py, a CALLERROR, a timeout or a lost connection in rpc.py)."""

from __future__ import annotations


class ProtocolFailure(Exception):
    """A frame, payload or exchange that did not go as OCPP-J says."""
