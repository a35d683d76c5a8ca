"""Test helpers for code using the SDK: a local api.video emulator with fault injection."""

from .emulator import Emulator, Fault, RecordedRequest

__all__ = ["Emulator", "Fault", "RecordedRequest"]
