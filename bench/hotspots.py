"""Where the time goes: cProfile of the per-call paths, and ``-X importtime`` of the imports.

    python bench/hotspots.py [--calls 2000] [--top 25] [--only auth,get,page,import]

Profiles ``p_ost_auth_api_key`` against the emulator (in its own process),
``VideosApi.get`` against bench/video_server.py, each with the urllib3 floor for
comparison, and ``VideosListResponse._from_wire`` of a page of 100 videos; then lists
the modules whose import costs the most beyond ``import urllib3, json``, for the
auth tag's import and for VideosApi's. The profiler counts process CPU time, so waiting on
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
from typing import Any, Callable, Dict, List, Tuple

import fixtures
from contenders import Floor, FloorVideo, Sdk, SdkVideo
from harness import ROOT, emulator_process, video_server_process
from run import IMPORTS, import_command

sys.path.insert(0, str(ROOT))


def profile_calls(calls: int, top: int) -> None:
    with emulator_process() as (url, key):
        for contender in (Sdk(url, key), Floor(url, key)):
            profile(contender.name, "api_key", contender.api_key, calls, top, 100)
            contender.close()


def profile_get(calls: int, top: int) -> None:
    with video_server_process() as (url, key):
        for video in (
            SdkVideo(url, key, fixtures.VIDEO_ID),
            FloorVideo(url, key, fixtures.VIDEO_ID),
        ):
            profile(video.name, "GET /videos/{videoId}", video.get, calls, top, 100)
            video.close()


def profile_page(calls: int, top: int) -> None:
    import json

    from video_api.model.videos_list_response import VideosListResponse

    body = fixtures.encode(fixtures.page(100))
    from_wire = VideosListResponse._from_wire
    profile("sdk", "page of 100 videos", lambda: from_wire(json.loads(body)), calls, top, 5)
    profile("floor", "page of 100 videos", lambda: json.loads(body), calls, top, 5)


def profile(name: str, what: str, call: Callable[[], Any], calls: int, top: int, warm: int) -> None:
    for _ in range(warm):
        call()
    profiler = cProfile.Profile(time.process_time)  # CPU: blind to waits and preemption
    profiler.enable()
    for _ in range(calls):
        call()
    profiler.disable()
    stats = pstats.Stats(profiler, stream=sys.stdout)
    print(f"\n== {name}: {calls} x {what}, CPU by code owner (us per call) ==")
    for owner, seconds in by_owner(stats):
        print(f"{seconds / calls * 1e6:10.1f}  {owner}")
    if name == "sdk":
        print(f"\n== {name}: the package's own functions, by own time ==")
        stats.print_stats("video_api", top)
    stats.strip_dirs()
    for order in ("tottime", "cumulative"):
        print(f"\n== {name}: {calls} x {what}, by {order} ==")
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


def importtime(statement: str) -> Dict[str, Tuple[int, int]]:
    """module -> (self us, cumulative us) from one ``-X importtime`` run."""
    command = import_command(statement)
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


def profile_import(sdk: str, top: int, runs: int = 5) -> None:
    sdk_runs: List[Dict[str, Tuple[int, int]]] = []
    floor_runs: List[Dict[str, Tuple[int, int]]] = []
    statement, floor = IMPORTS[sdk], IMPORTS["floor"]
    assert statement is not None and floor is not None
    for _ in range(runs):
        sdk_runs.append(importtime(statement))
        floor_runs.append(importtime(floor))
    floor_modules = set().union(*floor_runs)
    extra: Dict[str, List[int]] = {}
    for run in sdk_runs:
        for name, (own, _) in run.items():
            if name not in floor_modules:
                extra.setdefault(name, []).append(own)
    ranked = sorted(((sorted(v)[len(v) // 2], k) for k, v in extra.items()), reverse=True)
    total = sum(us for us, _ in ranked)
    print(f"\n== {statement}: modules loaded beyond urllib3 + json (median self us of {runs}) ==")
    print(f"{'self us':>9}  module")
    for us, name in ranked[:top]:
        print(f"{us:>9}  {name}")
    print(f"{total:>9}  total of {len(ranked)} extra modules")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--only", default="auth,get,page,import", help="what to profile")
    args = parser.parse_args()
    only = args.only.split(",")
    if "auth" in only:
        profile_calls(args.calls, args.top)
    if "get" in only:
        profile_get(args.calls, args.top)
    if "page" in only:
        profile_page(max(1, args.calls // 20), args.top)
    if "import" in only:
        profile_import("sdk", args.top)
        profile_import("sdk videos", args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
