"""pytest fixture for tests of code that uses the SDK.

Enable it with ``pytest_plugins = ["video_api.testing.pytest_plugin"]`` in a conftest.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

from .emulator import Emulator

if TYPE_CHECKING:  # pytest is only there when tests run: type checks need not have it
    from typing import Callable, TypeVar

    F = TypeVar("F", bound=Callable[..., object])

    def fixture(function: F) -> F: ...

else:
    from pytest import fixture


@fixture
def video_api_emulator() -> Iterator[Emulator]:
    """A running emulator, fresh for each test so no token or fault leaks between tests."""
    with Emulator() as emulator:
        yield emulator
