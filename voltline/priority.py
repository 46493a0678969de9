"""Threads that give way to the event loop.

Linux sets the nice value per thread. A thread that does an operator's or an attacker's work
(hashing a password, an operator's heavy read) runs at a lower priority than the rest of the
process, so that where it shares a core with the event loop, the charge points come first."""

from __future__ import annotations

import os
import threading

BACKGROUND_NICE = 10


def yield_to_the_event_loop() -> None:
    """Run the calling thread (a pool's initializer) at BACKGROUND_NICE."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICE)
    except (AttributeError, OSError):
        pass  # not on this platform: the thread merely shares the CPU evenly
