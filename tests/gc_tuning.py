"""Fewer garbage-collector passes in the test processes (CONTRIBUTING.md, section 9).

Tracing a JAX program allocates many short-lived objects, and CPython's default thresholds
(a young-generation pass every 700 net allocations) make the collector walk them, and every
module object imported so far, again and again. Freezing what the imports created and
collecting the young generation every 50,000 allocations cuts the suite's tracing time by
about a quarter (measured on four edge-case programs, 9.1-9.8 s -> 7.0-7.1 s) without
changing any result: cycles are still collected, only less often.
"""

import gc


def fewer_gc_passes() -> None:
    """Moves every object alive now out of the collector's sight; collects less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
