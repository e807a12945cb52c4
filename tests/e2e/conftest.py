"""The simulator fixture lives in tests/simulated.py, shared with the end-to-end tests."""

from simulated import simulator

__all__ = ["simulator"]
