"""Measuring tools: the emulator in its own process, interleaved timing slices, statistics."""

from __future__ import annotations

import contextlib
import gc
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

from contenders import CallFailed

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent


def child_env() -> Dict[str, str]:
    """The environment for child interpreters: the repo's package first on the path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


@contextlib.contextmanager
def emulator_process(token_lifetime: int = 3600) -> Iterator[Tuple[str, str]]:
    """Run ``python -m video_api.testing`` in a separate process; yield (url, api_key).

    A separate process keeps the server's CPU out of the client's ``process_time``
    and its memory out of the client's RSS.
    """
    command = ["-m", "video_api.testing", "--port", "0", "--token-lifetime", str(token_lifetime)]
    with server_process(command) as found:
        yield found


@contextlib.contextmanager
def video_server_process() -> Iterator[Tuple[str, str]]:
    """Run ``bench/video_server.py`` (fixed answers to GET /videos/{id}); yield (url, api_key)."""
    with server_process([str(BENCH / "video_server.py")]) as found:
        yield found


@contextlib.contextmanager
def server_process(args: List[str]) -> Iterator[Tuple[str, str]]:
    """Run ``python ARGS`` until it prints VIDEO_API_URL= and VIDEO_API_KEY=; yield them."""
    proc = subprocess.Popen(
        [sys.executable, *args],
        cwd=ROOT,
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        found: Dict[str, str] = {}
        assert proc.stdout is not None
        while len(found) < 2:
            line = proc.stdout.readline()
            if not line:
                err = proc.stderr.read() if proc.stderr else ""
                raise RuntimeError(
                    f"{' '.join(args)} exited before printing its URL: {err.strip()}"
                )
            name, _, value = line.strip().partition("=")
            if name in ("VIDEO_API_URL", "VIDEO_API_KEY"):
                found[name] = value
        yield found["VIDEO_API_URL"], found["VIDEO_API_KEY"]
    finally:
        proc.terminate()  # both servers stop cleanly on SIGTERM
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


# -- statistics
def median(values: Sequence[float]) -> Optional[float]:
    return statistics.median(values) if values else None


def quartiles(values: Sequence[float]) -> Optional[Tuple[float, float]]:
    """(25th, 75th) percentile; the spread that says how noisy a median is."""
    if len(values) < 2:
        return (values[0], values[0]) if values else None
    q = statistics.quantiles(values, n=4, method="inclusive")
    return (q[0], q[2])


def ratio(a: Optional[float], b: Optional[float]) -> Optional[float]:
    return a / b if a is not None and b else None


# -- interleaved slices
@dataclass
class Failure:
    """A call that did not return the expected token; its slice is not timed."""

    section: str
    contender: str
    round: int
    message: str

    def as_dict(self) -> Dict[str, object]:
        return {
            "section": self.section,
            "contender": self.contender,
            "round": self.round,
            "message": self.message,
        }


@dataclass
class Slices:
    """Per-unit timings of one contender, one value per valid slice, with its round."""

    cpu: List[float] = field(default_factory=list)
    wall: List[float] = field(default_factory=list)
    rounds: List[int] = field(default_factory=list)


def interleave(
    section: str,
    contenders: Dict[str, Callable[[int], None]],
    rounds: int,
    units: int,
    failures: List[Failure],
    recover: Optional[Dict[str, Callable[[], None]]] = None,
) -> Dict[str, Slices]:
    """Time ``fn(units)`` for each contender, ``rounds`` times, interleaved.

    The order rotates every round so that neither contender always runs first. A
    slice whose function raises :class:`CallFailed` is recorded as a failure and
    left out; ``recover[name]()`` (untimed) then restores the contender's state.
    Values are per unit (seconds of process CPU and of wall time).
    """
    names = list(contenders)
    out = {name: Slices() for name in names}
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        if r % 2:
            order.reverse()
        gc.collect()
        for name in order:
            fn = contenders[name]
            c0, w0 = time.process_time(), time.perf_counter()
            try:
                fn(units)
            except CallFailed as error:
                failures.append(Failure(section, name, r, str(error)))
                if recover and name in recover:
                    recover[name]()
                continue
            w1, c1 = time.perf_counter(), time.process_time()
            out[name].cpu.append((c1 - c0) / units)
            out[name].wall.append((w1 - w0) / units)
            out[name].rounds.append(r)
    return out


def paired_ratios(a: Slices, b: Slices, kind: str) -> List[float]:
    """a/b for each round where both have a valid slice: the noise-robust comparison."""
    bv = dict(zip(b.rounds, getattr(b, kind)))
    return [x / bv[r] for r, x in zip(a.rounds, getattr(a, kind)) if r in bv and bv[r] > 0]
