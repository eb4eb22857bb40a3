"""Compatibility names: `from simulator.data import generate, Dataset` (see generate.py and store.py)."""

from .generate import generate
from .store import Dataset

__all__ = ["Dataset", "generate"]
