"""A serving process's heap, settled once the process has started: Python's cyclic garbage collector no longer walks
the objects that live as long as the process, and collects young objects less often.

Why: a process serving turns allocates fast (LangGraph's tasks, configs and checkpoints, the messages, the HTTP
requests), so the collector runs often, and every full collection walked all of the process's container objects:
about 270 000 once the modules, the compiled graph and the app are loaded. Measured with ``gc.callbacks`` under
bench/profile_turn.py (64 conversations, text turns via the API): 1.5 ms of a turn's 12 ms went to the collector,
most of it in the two full collections of a 320-turn run, each a pause of every conversation on the process.

- ``gc.freeze()`` moves everything alive at start-up to a permanent generation that collections skip (what it is
  for). Start-up's own garbage is collected first; frozen objects are still freed by reference counting.
- A larger first threshold (``DESKGRAPH_GC_GEN0_THRESHOLD``; Python's default is 700): most of a turn's objects are
  freed by reference counting within the turn, so a collection after 700 allocations mostly promotes live
  objects of turns in flight to the older generations, where the full collections walk them again.
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger(__name__)


def settle_heap(gen0_threshold: int) -> None:
    """Collect start-up's garbage, freeze what is left, and set the first generation's threshold (0 or less: keep
    Python's)."""
    gc.collect()
    gc.freeze()
    if gen0_threshold > 0:
        _, gen1, gen2 = gc.get_threshold()
        gc.set_threshold(gen0_threshold, gen1, gen2)
    log.debug("heap settled: %d objects frozen, thresholds %s", gc.get_freeze_count(), gc.get_threshold())
