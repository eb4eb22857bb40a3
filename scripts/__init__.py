"""Developer entry points: the demo and the benchmark (run through make)."""
