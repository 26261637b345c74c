"""Two process settings for the test processes (CONTRIBUTING.md, section 9): the suite's time
is mostly jax tracing, lowering and compiling thousands of small programs. Neither changes
any result.

- Fewer garbage-collector passes. Tracing a JAX program allocates many short-lived objects,
  and CPython's default thresholds (a young-generation pass every 700 net allocations) make
  the collector walk them, and every module object imported so far, again and again.
  Freezing what the imports created and collecting the young generation every 50,000
  allocations cut the suite's tracing time by about a quarter (measured on four edge-case
  programs, 9.1-9.8 s -> 7.0-7.1 s): cycles are still collected, only less often.
- One MLIR context per thread for a hundred lowerings. jax makes a new context for each
  program it lowers (``jax._src.interpreters.mlir.make_ir_context``: every dialect loaded,
  its operations registered), and the compiled programs it caches keep theirs alive. The
  contract suite's jit, eager and ``disable_jit`` calls of every registered function (2,400
  programs, most of them one operation) took 98 s and 3.4 GB in one process that way, 74 s
  and 1.0 GB with a shared context. Programs of hundreds of operations take as long either
  way (20 edge-case tests after 110 functions' jit and eager calls: 40-44 s). Each program
  is still its own module; only the context owning the interned types, attributes and
  dialects is shared. If jax renames the function, nothing is shared (slower, not wrong).
"""

import gc
import threading

# A fresh context after this many lowerings: the interned attributes (every operation's source
# location among them) do not pile up over a whole run. 100 measured as fast as one context
# for the run on small programs, and no slower on large ones.
LOWERINGS_PER_CONTEXT = 100


def fewer_gc_passes() -> None:
    """Moves every object alive now out of the collector's sight; collects less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


def share_mlir_context() -> None:
    """Makes jax lower a thread's programs in one MLIR context per `LOWERINGS_PER_CONTEXT`."""
    try:
        from jax._src.interpreters import mlir
    except ImportError:  # a jax without this module: nothing to share
        return
    make = getattr(mlir, "make_ir_context", None)
    if make is None or getattr(make, "_shared_per_thread", False):
        return
    local = threading.local()

    def shared():
        context = getattr(local, "context", None)
        if context is None or local.uses >= LOWERINGS_PER_CONTEXT:
            context, local.uses = make(), 0
            local.context = context
        local.uses += 1
        return context

    shared._shared_per_thread = True  # type: ignore[attr-defined]
    mlir.make_ir_context = shared


def tune() -> None:
    """Both settings; call after the process's imports (the garbage collector freezes them)."""
    share_mlir_context()
    fewer_gc_passes()
