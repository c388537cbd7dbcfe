"""Fill the compile cache: every kernel of the engine compiled (or loaded) once.

``python -m sim.engine.warm`` does it for the bundled scenarios, for any number of parties
(``--all``: and any number of fronts, as CI does before the tests), so worker processes load the
kernels instead of each compiling them from cold; the benchmark times it on an empty cache.
"""

from __future__ import annotations

import sys
import time

from sim.engine import beliefs, libm, mediator, parties, valuation

# One version of each kernel serves any number of parties (a group of valuers is passed as arrays
# side by side, ``sim.engine.valuation.side_by_side``); the versions for ``FEW_FRONTS`` fronts or
# more, which no bundled scenario has, are compiled with ``--all`` or at first use, once, into the
# same cache (``test_after_the_warm_up_no_scenario_compiles_a_kernel_whatever_its_number_of_parties``
# holds the warm-up to what the bundled scenarios and files of other numbers of parties run).


def warm_up(many_fronts: bool = False) -> float:
    """Compile (or load from the cache) every kernel of the engine (and those for ``FEW_FRONTS``
    fronts or more with ``many_fronts``); the seconds it took."""
    t0 = time.perf_counter()
    libm.warm_up()
    mediator.warm_up()
    parties.warm_up()
    valuation.warm_up(many_fronts)
    beliefs.warm_up()
    return time.perf_counter() - t0


def main(argv: list[str]) -> int:
    """``python -m sim.engine.warm [--all]``: 0 once the kernels are ready, 2 for other arguments."""
    if argv not in ([], ["--all"]):
        print("usage: python -m sim.engine.warm [--all]: --all is the only option", file=sys.stderr)
        return 2
    print(f"kernels ready in {warm_up(many_fronts=bool(argv)):.1f} s")  # --all: any number of fronts
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
