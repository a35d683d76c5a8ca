"""Instructions per call, SDK against floor, counted by valgrind: ratios that the load of a
shared machine does not move, unlike the timed ones of run.py.

    python bench/instructions.py                    # page, auth and get; about two minutes
    python bench/instructions.py --only page --calls 20

Each contender runs in a fresh interpreter under callgrind, once making N calls and once
making none after the same warm-up, so that start-up and imports cancel out: the difference
over N is its count per call. The servers run outside valgrind, in their own processes.
Counts are of user-space instructions only: the kernel's share of a call (its system
calls and the loopback network), which both sides pay alike in CPU time, is not in them.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from typing import Callable, Dict, Optional

import fixtures
from harness import ROOT, child_env, emulator_process, video_server_process

KINDS = {
    "page": "a page of 100 full videos to VideosListResponse, against json.loads",
    "auth": "POST /auth/api-key through AuthenticationApi, against urllib3 + json",
    "get": "VideosApi.get(video_id), Basic auth, against urllib3 + json",
}
WARM_UP = 5


def child(kind: str, who: str, url: str, key: str, calls: int) -> None:
    """Run in the interpreter under valgrind: warm up, then make ``calls`` calls."""
    sys.path.insert(0, str(ROOT))
    call: Callable[[], object]
    if kind == "page":
        body = fixtures.encode(fixtures.page(100))
        if who == "sdk":
            from video_api.model.videos_list_response import VideosListResponse

            from_wire = VideosListResponse._from_wire
            call = lambda: from_wire(json.loads(body))  # noqa: E731
        else:
            call = lambda: json.loads(body)  # noqa: E731
    else:
        from contenders import Floor, FloorVideo, Sdk, SdkVideo

        if kind == "auth":
            call = (Sdk if who == "sdk" else Floor)(url, key).api_key
        else:
            call = (SdkVideo if who == "sdk" else FloorVideo)(url, key, fixtures.VIDEO_ID).get
    for _ in range(WARM_UP + calls):
        call()


def counted(kind: str, who: str, url: str, key: str, calls: int) -> int:
    """The instructions of a fresh interpreter running ``child``."""
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
    command += [sys.executable, __file__, "--child", kind, who, url, key, str(calls)]
    env = {**child_env(), "PYTHONHASHSEED": "0"}  # the same dict layouts in every run
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or not found:
        raise SystemExit(f"{kind}/{who} failed under valgrind:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def per_call(kind: str, url: str, key: str, calls: int) -> Dict[str, float]:
    return {
        who: (counted(kind, who, url, key, calls) - counted(kind, who, url, key, 0)) / calls
        for who in ("sdk", "floor")
    }


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=",".join(KINDS), help="page,auth,get")
    parser.add_argument("--calls", type=int, default=0, help="calls counted (default: per kind)")
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        kind, who, url, key, calls = args.child
        child(kind, who, url, key, int(calls))
        return 0
    kinds = [kind for kind in args.only.split(",") if kind]
    unknown = set(kinds) - set(KINDS)
    if unknown:
        parser.error(f"unknown kind {sorted(unknown)[0]!r}; choose from {', '.join(KINDS)}")
    if shutil.which("valgrind") is None:
        print("valgrind is not installed: apt-get install valgrind", file=sys.stderr)
        return 2
    print(f"{'kind':6} {'sdk':>12} {'floor':>12} {'sdk/floor':>10}  (instructions per call)")
    for kind in kinds:
        calls = args.calls or (10 if kind == "page" else 200)
        servers = {"auth": emulator_process, "get": video_server_process}
        if kind in servers:
            with servers[kind]() as (url, key):
                counts = per_call(kind, url, key, calls)
        else:
            counts = per_call(kind, "-", "-", calls)
        sdk, floor = counts["sdk"], counts["floor"]
        print(f"{kind:6} {sdk:12,.0f} {floor:12,.0f} {sdk / floor:9.3f}x  {KINDS[kind]}")
    return 0


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.exit(main())
