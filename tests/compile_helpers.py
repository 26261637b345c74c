"""Counting XLA compilations in a test (one home for the listener)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import jax


@contextlib.contextmanager
def backend_compiles() -> Iterator[list[str]]:
    """A list that collects one entry per XLA backend compilation made inside the block."""
    events: list[str] = []

    def count(event: str, duration: float, **_: object) -> None:
        if "backend_compile" in event:
            events.append(event)

    jax.monitoring.register_event_duration_secs_listener(count)
    try:
        yield events
    finally:
        jax.monitoring.unregister_event_duration_listener(count)
