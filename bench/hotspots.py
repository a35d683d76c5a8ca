"""Where the time goes: cProfile of the per-call path, and ``-X importtime`` of the import.

    python bench/hotspots.py [--calls 2000] [--top 25]

Profiles ``p_ost_auth_api_key`` against the emulator (in its own process) and the
urllib3 floor for comparison, then lists the modules whose import costs the most
beyond ``import urllib3, json``. The profiler counts process CPU time, so waiting on
the server and being preempted on a busy machine do not show; numbers under a
profiler are inflated all the same: read the order and the shares.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import subprocess
import sys
import time
from typing import Dict, List, Tuple

from contenders import Floor, Sdk
from harness import ROOT, emulator_process
from run import import_command

sys.path.insert(0, str(ROOT))


def profile_calls(calls: int, top: int) -> None:
    with emulator_process() as (url, key):
        for contender in (Sdk(url, key), Floor(url, key)):
            for _ in range(100):
                contender.api_key()
            profiler = cProfile.Profile(time.process_time)  # CPU: blind to waits and preemption
            profiler.enable()
            for _ in range(calls):
                contender.api_key()
            profiler.disable()
            contender.close()
            stats = pstats.Stats(profiler, stream=sys.stdout)
            print(f"\n== {contender.name}: {calls} x api_key, CPU by code owner (us per call) ==")
            for owner, seconds in by_owner(stats):
                print(f"{seconds / calls * 1e6:10.1f}  {owner}")
            if isinstance(contender, Sdk):
                print(f"\n== {contender.name}: the package's own functions, by own time ==")
                stats.print_stats("video_api", top)
            stats.strip_dirs()
            for order in ("tottime", "cumulative"):
                print(f"\n== {contender.name}: {calls} x api_key, by {order} ==")
                stats.sort_stats(order).print_stats(top)


def by_owner(stats: pstats.Stats) -> List[Tuple[str, float]]:
    """Own CPU time summed by who owns the code: the package, urllib3, json, the stdlib parts."""
    totals: Dict[str, float] = {}
    for (filename, _, function), row in stats.stats.items():  # type: ignore[attr-defined]
        path = filename.replace("\\", "/")
        if "/video_api/" in path:
            owner = "video_api"
        elif "/urllib3/" in path:
            owner = "urllib3"
        elif "/json/" in path or "json" in function:
            owner = "json"
        elif "/email/" in path or path.endswith("/http/client.py"):
            owner = "http.client + email (headers)"
        elif "/bench/" in path:
            owner = "bench loop"
        elif filename == "~" and ("socket" in function or "recv" in function or "send" in function):
            owner = "socket syscalls"
        else:
            owner = "other (builtins, socket.py, ...)"
        totals[owner] = totals.get(owner, 0.0) + row[2]
    return sorted(totals.items(), key=lambda item: -item[1])


def importtime(module: str) -> Dict[str, Tuple[int, int]]:
    """module -> (self us, cumulative us) from one ``-X importtime`` run."""
    command = import_command(module)
    command.insert(1, "-X")
    command.insert(2, "importtime")
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    out: Dict[str, Tuple[int, int]] = {}
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, cumulative, name = line[len("import time:") :].split("|")
        out[name.strip()] = (int(own), int(cumulative))
    return out


def profile_import(top: int, runs: int = 5) -> None:
    sdk_runs: List[Dict[str, Tuple[int, int]]] = []
    floor_runs: List[Dict[str, Tuple[int, int]]] = []
    for _ in range(runs):
        sdk_runs.append(importtime("video_api.apis.tags.authentication_api"))
        floor_runs.append(importtime("urllib3, json"))
    floor_modules = set().union(*floor_runs)
    extra: Dict[str, List[int]] = {}
    for run in sdk_runs:
        for name, (own, _) in run.items():
            if name not in floor_modules:
                extra.setdefault(name, []).append(own)
    ranked = sorted(((sorted(v)[len(v) // 2], k) for k, v in extra.items()), reverse=True)
    total = sum(us for us, _ in ranked)
    print(f"\n== import: modules the sdk loads beyond urllib3 + json (median self us of {runs}) ==")
    print(f"{'self us':>9}  module")
    for us, name in ranked[:top]:
        print(f"{us:>9}  {name}")
    print(f"{total:>9}  total of {len(ranked)} extra modules")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    profile_calls(args.calls, args.top)
    profile_import(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
