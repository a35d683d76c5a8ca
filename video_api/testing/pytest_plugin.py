"""pytest fixture for tests of code that uses the SDK.

Enable it with ``pytest_plugins = ["video_api.testing.pytest_plugin"]`` in a conftest.py.
"""

from __future__ import annotations

from typing import Iterator

import pytest

from .emulator import Emulator


@pytest.fixture
def video_api_emulator() -> Iterator[Emulator]:
    """A running emulator, fresh for each test so no token or fault leaks between tests."""
    with Emulator() as emulator:
        yield emulator
