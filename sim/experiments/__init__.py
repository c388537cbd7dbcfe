"""Experiments layer: replications in seeded chunks on any executor, tallies of outcomes, sweeps."""
