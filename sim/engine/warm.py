"""Fill the compile cache: every kernel of the engine compiled (or loaded) once.

``python -m sim.engine.warm`` does it for the bundled scenarios (``--all``: for tables of two to
four parties and any number of fronts, as CI does before the tests), so worker processes load the
kernels instead of each compiling them from cold; the benchmark times it on an empty cache.
"""

from __future__ import annotations

import sys
import time

from sim.engine import beliefs, libm, mediator, parties, valuation

# The versions the bundled scenarios run: tables of 3 and 4 parties, fewer than FEW_FRONTS fronts
# (``test_after_the_warm_up_no_bundled_scenario_compiles_a_kernel`` holds the warm-up to it). A file
# with another number of parties or more fronts compiles its versions at first use, once, into the
# same cache: each version of each kernel costs its compile time, so the warm-up makes no more.
TABLES = (3, 4)


def warm_up(tables: tuple[int, ...] = TABLES, many_fronts: bool = False) -> float:
    """Compile (or load from the cache) every kernel of the engine, in the versions for tables of
    ``tables`` parties (and ``FEW_FRONTS`` fronts or more with ``many_fronts``); the seconds it took."""
    t0 = time.perf_counter()
    libm.warm_up()
    mediator.warm_up()
    parties.warm_up(tables)
    valuation.warm_up(tables, many_fronts)
    beliefs.warm_up(tables)
    return time.perf_counter() - t0


def main(argv: list[str]) -> int:
    """``python -m sim.engine.warm [--all]``: 0 once the kernels are ready, 2 for other arguments."""
    if argv not in ([], ["--all"]):
        print("usage: python -m sim.engine.warm [--all]: --all is the only option", file=sys.stderr)
        return 2
    if argv:  # every version: tables of 2 to 4 parties, any number of fronts
        print(f"kernels ready in {warm_up((2, 3, 4), many_fronts=True):.1f} s")
    else:
        print(f"kernels ready in {warm_up():.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
