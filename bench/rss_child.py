"""One contender in a fresh process: peak RSS after N calls, and per-call cost early and late.

Run by run.py as ``python bench/rss_child.py NAME URL KEY TOTAL WARM BLOCKS BLOCK``;
prints one JSON object. It imports only what the contender needs, so the floor's
process never loads the package.

Timeline: one client makes WARM calls, then BLOCKS x BLOCK timed ones, then untimed
ones up to TOTAL; the peak RSS and the count of live objects are read there. Then a
second, young client makes WARM calls, and the two alternate BLOCKS timed blocks:
the aged/young ratio of CPU per call says whether a call gets dearer as calls pile
up, with the busy machine slowing both alike. A block with a failed call is
reported and left out.
"""

from __future__ import annotations

import gc
import json
import resource
import sys
import time
from typing import Any, Callable, Dict, List, Optional

from contenders import CallFailed, make


def status_kb(field: str) -> Optional[int]:
    """A memory figure of this process from /proc/self/status, in KiB (Linux); else None.

    ``VmHWM`` is the peak RSS of this program alone. ``ru_maxrss`` is not, on Linux:
    exec() carries the parent's high-water mark over, so a child spawned by a larger
    parent reports the parent's size.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def rss_kb() -> Optional[int]:
    return status_kb("VmRSS")


def median(values: List[float]) -> Optional[float]:
    return sorted(values)[len(values) // 2] if values else None


def main(argv: List[str]) -> int:
    name, url, key = argv[:3]
    total, warm, blocks, block = (int(a) for a in argv[3:7])
    aged = make(name, url, key)
    failures: List[str] = []

    def untimed(call: Callable[[], None], n: int) -> None:
        for i in range(n):
            try:
                call()
            except CallFailed as error:
                failures.append(f"untimed call {i + 1}: {error}")

    def timed(call: Callable[[], None]) -> Optional[float]:
        """CPU seconds per call over one block; None (and a failure) if a call failed."""
        c0 = time.process_time()
        try:
            for _ in range(block):
                call()
        except CallFailed as error:
            failures.append(f"timed call: {error}")
            return None
        return (time.process_time() - c0) / block

    # Peak RSS of one client that made `total` calls, and the objects it left behind.
    untimed(aged.api_key, warm)
    gc.collect()
    objects_warm, rss_warm = len(gc.get_objects()), rss_kb()
    early = [t for t in (timed(aged.api_key) for _ in range(blocks)) if t is not None]
    untimed(aged.api_key, max(0, total - warm - blocks * block))
    ru_maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    if sys.platform == "darwin":
        ru_maxrss //= 1024  # bytes there
    peak = status_kb("VmHWM")
    gc.collect()
    objects_total, rss_total = len(gc.get_objects()), rss_kb()

    # Per-call cost of the aged client against a young one, interleaved block by block.
    young = make(name, url, key)
    untimed(young.api_key, warm)
    late: List[float] = []
    fresh: List[float] = []
    ratios: List[float] = []
    for i in range(blocks):
        pair = [(aged, late), (young, fresh)]
        if i % 2:
            pair.reverse()
        got = {id(c): timed(c.api_key) for c, _ in pair}
        for c, out in pair:
            value = got[id(c)]
            if value is not None:
                out.append(value)
        a, y = got[id(aged)], got[id(young)]
        if a and y:
            ratios.append(a / y)

    result: Dict[str, Any] = {
        "contender": name,
        "calls_at_peak": total,
        "maxrss_kb": peak if peak is not None else ru_maxrss,
        "ru_maxrss_kb": ru_maxrss,
        "rss_kb_at_warm": rss_warm,
        "rss_kb_at_total": rss_total,
        "objects_at_warm": objects_warm,
        "objects_at_total": objects_total,
        "cpu_aged": median(late),
        "cpu_young": median(fresh),
        "growth_ratios": ratios,
        "cpu_early_same_client": median(early),
        "connections": aged.connections(),
        "failures": failures[:20],
        "failure_count": len(failures),
    }
    aged.close()
    young.close()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
