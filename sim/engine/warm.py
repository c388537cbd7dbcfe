"""Fill the compile cache: every kernel of the engine compiled (or loaded) once.

``python -m sim.engine.warm`` does it before the tests (CI), so worker processes load the kernels
instead of each compiling them from cold; the benchmark times it on an empty cache.
"""

from __future__ import annotations

import time

from sim.engine import beliefs, libm, mediator, parties, valuation


def warm_up() -> float:
    """Compile (or load from the cache) every kernel of the engine; the seconds it took."""
    t0 = time.perf_counter()
    for warm in (libm.warm_up, mediator.warm_up, parties.warm_up, valuation.warm_up, beliefs.warm_up):
        warm()
    return time.perf_counter() - t0


if __name__ == "__main__":
    print(f"kernels ready in {warm_up():.1f} s")
