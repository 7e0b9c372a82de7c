"""Polyflow's benchmark suite; the entry point is bench/run."""
