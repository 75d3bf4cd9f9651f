"""What the store benchmarks share: their two options and the strap that makes their session."""

from __future__ import annotations

import argparse


def minutes_and_strap_args(doc: str) -> argparse.Namespace:
    """``--minutes`` (default 60) and ``--synthetic`` (the cheap synthetic strap instead of the simulator)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--synthetic", action="store_true",
                        help="use the store's cheap synthetic strap, not the simulator")
    return parser.parse_args()


def bench_strap(duration_s: float, synthetic: bool):  # noqa: ANN201 - a ScheduledSource
    """A seeded strap with ECG and ACC: the simulator, or the synthetic strap with the same event counts."""
    if synthetic:
        from biotrainer.sources.sim.synthetic import SyntheticStrap

        return SyntheticStrap(duration_s, seed=7)
    from biotrainer.sources.sim.strap import SimConfig, SimulatedStrap

    return SimulatedStrap(SimConfig.from_spec("sim:ecg,acc", seed=7, participant="self", device="sim-0001"))
