"""Benchmark the package against urllib3 used directly, and print the ratios.

    python bench/run.py            # full run, about two minutes
    python bench/run.py --quick    # smoke run, about ten seconds
    python bench/run.py --out results.json --only network,videos,offline

The servers run in separate processes on loopback: the emulator for the auth
calls, bench/video_server.py (fixed bytes) for GET /videos/{videoId}. Contenders
alternate in short slices (the order rotates each round) and every comparison is
the median of per-round ratios, so a busy machine slows both sides alike: read
the ratios, not the absolute numbers, and only ratios from one run against each
other. Each timed call is checked (status 200 and an access token, or the video); a failed
call is reported and its slice is left out. Results go to bench/results.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import site
import subprocess
import sys
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

import fixtures
import urllib3
from contenders import CallFailed, Floor, FloorVideo, Sdk, SdkVideo
from harness import (
    BENCH,
    ROOT,
    Failure,
    Slices,
    child_env,
    emulator_process,
    interleave,
    median,
    paired_ratios,
    quartiles,
    ratio,
    video_server_process,
)

sys.path.insert(0, str(ROOT))  # the package under test is the one in this repo

#: Every metric the JSON holds, in table order.
METRICS = (
    "cpu_per_call_api_key",
    "cpu_per_call_api_key_timed",
    "wall_per_call_api_key",
    "cpu_per_call_refresh",
    "wall_per_call_refresh",
    "cpu_per_call_get_video",
    "cpu_per_call_get_video_timed",
    "wall_per_call_get_video",
    "import_time",
    "import_time_wall",
    "import_time_videos_api",
    "import_time_videos_api_wall",
    "offline_serialize",
    "offline_parse",
    "offline_round_trip",
    "offline_parse_video_page",
    "peak_rss",
    "per_call_growth_sdk",
    "per_call_growth_floor",
    "threads_throughput",
    "threads_cpu_per_call",
)

#: Targets for the ratio A/B: (preferred bound, hard bound, direction); None: information only.
TARGETS: Dict[str, Optional[Tuple[float, float, str]]] = {
    "cpu_per_call_api_key": (1.00, 1.10, "max"),
    "cpu_per_call_api_key_timed": None,
    "wall_per_call_api_key": None,
    "cpu_per_call_refresh": (1.00, 1.10, "max"),
    "wall_per_call_refresh": None,
    "cpu_per_call_get_video": (1.00, 1.10, "max"),
    "cpu_per_call_get_video_timed": None,
    "wall_per_call_get_video": None,
    "import_time": (1.00, 1.00, "max"),
    "import_time_wall": (1.00, 1.00, "max"),
    "import_time_videos_api": (1.30, 1.30, "max"),
    "import_time_videos_api_wall": (1.30, 1.30, "max"),
    "offline_serialize": (2.0, 2.0, "max"),
    "offline_parse": (2.0, 2.0, "max"),
    "offline_round_trip": (2.0, 2.0, "max"),
    "offline_parse_video_page": (2.0, 2.0, "max"),
    "peak_rss": (1.05, 1.05, "max"),
    "per_call_growth_sdk": (1.05, 1.05, "max"),
    "per_call_growth_floor": None,
    "threads_throughput": (0.95, 0.95, "min"),
    "threads_cpu_per_call": None,
}

FULL = {
    "net_rounds": 20,
    "net_calls": 200,
    "net_warm": 200,
    "video_rounds": 40,
    "video_calls": 200,
    "video_warm": 200,
    "import_runs": 25,
    "offline_rounds": 20,
    "offline_units": 2000,
    "page_units": 20,
    "mem_reps": 3,
    "mem_total": 10_000,
    "mem_warm": 100,
    "mem_blocks": 20,
    "mem_block": 20,
    "threads": 8,
    "thread_rounds": 10,
    "thread_calls": 100,
}
QUICK = {
    "net_rounds": 3,
    "net_calls": 20,
    "net_warm": 10,
    "video_rounds": 3,
    "video_calls": 20,
    "video_warm": 10,
    "import_runs": 2,
    "offline_rounds": 3,
    "offline_units": 200,
    "page_units": 3,
    "mem_reps": 1,
    "mem_total": 300,
    "mem_warm": 100,
    "mem_blocks": 3,
    "mem_block": 20,
    "threads": 8,
    "thread_rounds": 2,
    "thread_calls": 5,
}

SECTIONS = ("network", "videos", "offline", "imports", "memory", "threads")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def metric(
    name: str,
    unit: str,
    a: Optional[float],
    b: Optional[float],
    ratios: List[float],
    *,
    a_is: str = "sdk",
    b_is: str = "floor",
    samples: Optional[Dict[str, List[float]]] = None,
    **extra: Any,
) -> Dict[str, Any]:
    """One row: A, B, the median of paired A/B ratios (else A/B of medians), and the verdict."""
    r = median(ratios) if ratios else ratio(a, b)
    row: Dict[str, Any] = {
        "unit": unit,
        "a_is": a_is,
        "b_is": b_is,
        "a": a,
        "b": b,
        "ratio": r,
        "ratio_of_medians": ratio(a, b),
        "ratio_iqr": quartiles(ratios),
        "n": len(ratios),
        "target": describe_target(name),
        "verdict": verdict(name, r),
    }
    if samples is not None:
        row["samples"] = samples
    row.update(extra)
    return row


def describe_target(name: str) -> str:
    target = TARGETS[name]
    if target is None:
        return "info"
    soft, hard, direction = target
    sign = "<=" if direction == "max" else ">="
    text = f"{sign} {soft:.2f}x"
    return text + (f" (never above {hard:.2f}x)" if hard != soft else "")


def verdict(name: str, r: Optional[float]) -> str:
    target = TARGETS[name]
    if r is None:
        return "n/a"
    if target is None:
        return "info"
    soft, hard, direction = target
    if direction == "min":
        return "ok" if r >= soft else "UNDER"
    if r <= soft:
        return "ok"
    return "tolerated" if r <= hard else "OVER"


def scaled(values: List[float], factor: float) -> List[float]:
    return [round(v * factor, 3) for v in values]


def slices_metric(
    name: str, unit: str, factor: float, a: Slices, b: Slices, kind: str
) -> Dict[str, Any]:
    av, bv = getattr(a, kind), getattr(b, kind)
    ma, mb = median(av), median(bv)
    return metric(
        name,
        unit,
        None if ma is None else ma * factor,
        None if mb is None else mb * factor,
        paired_ratios(a, b, kind),
        samples={"a": scaled(av, factor), "b": scaled(bv, factor)},
    )


def repeat(call: Callable[[], None]) -> Callable[[int], None]:
    def run(n: int) -> None:
        for _ in range(n):
            call()

    return run


# -- sections
def network(p: Dict[str, int], failures: List[Failure], out: Dict[str, Any]) -> bytes:
    """Per-call CPU and wall time over one keep-alive connection; returns a real 200 body."""
    log("[network] one keep-alive connection, api-key and refresh, interleaved")
    with emulator_process() as (url, key):
        sdk, floor = Sdk(url, key), Floor(url, key)
        # The SDK's default timeout puts its socket in timeout mode: a poll() before each send
        # and receive. The plain floor has none (it would wait forever on a stalled server);
        # this one has the same timeout, to show what the SDK itself costs.
        timed = Floor(url, key, timeout=urllib3.Timeout(connect=5.0, read=60.0))
        for c in (sdk, floor, timed):
            for _ in range(p["net_warm"]):
                c.api_key()
                c.refresh()

        def recover(c: Any) -> Callable[[], None]:
            def again() -> None:
                try:
                    c.api_key()
                except CallFailed as error:
                    failures.append(Failure("network", c.name, -1, f"recovery: {error}"))

            return again

        res = interleave(
            "network",
            {
                "sdk api_key": repeat(sdk.api_key),
                "floor api_key": repeat(floor.api_key),
                "sdk refresh": repeat(sdk.refresh),
                "floor refresh": repeat(floor.refresh),
                "timed api_key": repeat(timed.api_key),
            },
            p["net_rounds"],
            p["net_calls"],
            failures,
            recover={"sdk refresh": recover(sdk), "floor refresh": recover(floor)},
        )
        connections = {"sdk": sdk.connections(), "floor": floor.connections()}
        body = floor.http.request(
            "POST",
            floor.api_key_url,
            body=json.dumps({"apiKey": key}),
            headers={"Content-Type": "application/json"},
        ).data
        sdk.close()
        floor.close()
        timed.close()
    name = "cpu_per_call_api_key_timed"
    out[name] = slices_metric(name, "us", 1e6, res["sdk api_key"], res["timed api_key"], "cpu")
    for op in ("api_key", "refresh"):
        for kind in ("cpu", "wall"):
            name = f"{kind}_per_call_{op}"
            out[name] = slices_metric(name, "us", 1e6, res[f"sdk {op}"], res[f"floor {op}"], kind)
            out[name]["connections"] = connections
    return body


def videos(p: Dict[str, int], failures: List[Failure], out: Dict[str, Any]) -> None:
    """Per-call CPU and wall time of GET /videos/{videoId} (HTTP Basic), full video JSON."""
    log("[videos] GET /videos/{videoId} from bench/video_server.py, interleaved")
    with video_server_process() as (url, key):
        sdk = SdkVideo(url, key, fixtures.VIDEO_ID)
        floor = FloorVideo(url, key, fixtures.VIDEO_ID)
        # As in network(): the floor with the SDK's default timeout, to show what the SDK costs.
        timed = FloorVideo(url, key, fixtures.VIDEO_ID, urllib3.Timeout(connect=5.0, read=60.0))
        for c in (sdk, floor, timed):  # untimed: a failure here is a broken setup, and raises
            for _ in range(p["video_warm"]):
                c.get()
        if sdk.status() != 200:
            raise CallFailed("the sdk's GET /videos/{videoId} did not get a 200")
        res = interleave(
            "videos",
            {"sdk": repeat(sdk.get), "floor": repeat(floor.get), "timed": repeat(timed.get)},
            p["video_rounds"],
            p["video_calls"],
            failures,
        )
        connections = {"sdk": sdk.connections(), "floor": floor.connections()}
        sdk.close()
        floor.close()
        timed.close()
    name = "cpu_per_call_get_video_timed"
    out[name] = slices_metric(name, "us", 1e6, res["sdk"], res["timed"], "cpu")
    for kind in ("cpu", "wall"):
        name = f"{kind}_per_call_get_video"
        out[name] = slices_metric(name, "us", 1e6, res["sdk"], res["floor"], kind)
        out[name]["connections"] = connections


def offline(p: Dict[str, int], failures: List[Failure], out: Dict[str, Any], body: bytes) -> None:
    """Build + serialize a payload, parse + validate a 200 body, against json alone."""
    log("[offline] payload to JSON, JSON to AccessToken, against json.dumps/json.loads")
    from video_api.model.access_token import AccessToken
    from video_api.model.authenticate_payload import AuthenticatePayload

    key = "demo-api-key-0123456789"
    loads, dumps, from_wire = json.loads, json.dumps, AccessToken._from_wire

    # The two sides must produce the same data, or the comparison means nothing.
    same_out = json.loads(AuthenticatePayload(api_key=key).to_json()) == {"apiKey": key}
    parsed, plain = from_wire(loads(body)), loads(body)
    same_in = bool(parsed.access_token) and all(parsed[k] == v for k, v in plain.items())
    if not (same_out and same_in):
        failures.append(Failure("offline", "sdk", -1, "sdk and json results differ"))
        return

    def sdk_ser(n: int) -> None:
        for _ in range(n):
            AuthenticatePayload(api_key=key).to_json()

    def floor_ser(n: int) -> None:
        for _ in range(n):
            dumps({"apiKey": key})

    def sdk_parse(n: int) -> None:
        for _ in range(n):
            from_wire(loads(body))

    def floor_parse(n: int) -> None:
        for _ in range(n):
            loads(body)

    def sdk_both(n: int) -> None:
        for _ in range(n):
            AuthenticatePayload(api_key=key).to_json()
            from_wire(loads(body))

    def floor_both(n: int) -> None:
        for _ in range(n):
            dumps({"apiKey": key})
            loads(body)

    res = interleave(
        "offline",
        {
            "sdk ser": sdk_ser,
            "floor ser": floor_ser,
            "sdk parse": sdk_parse,
            "floor parse": floor_parse,
            "sdk both": sdk_both,
            "floor both": floor_both,
        },
        p["offline_rounds"],
        p["offline_units"],
        failures,
    )
    for name, tag in (
        ("offline_serialize", "ser"),
        ("offline_parse", "parse"),
        ("offline_round_trip", "both"),
    ):
        out[name] = slices_metric(name, "ns", 1e9, res[f"sdk {tag}"], res[f"floor {tag}"], "cpu")
    video_page(p, failures, out)


def video_page(p: Dict[str, int], failures: List[Failure], out: Dict[str, Any]) -> None:
    """A page of 100 full videos: JSON to VideosListResponse, against json.loads alone."""
    log("[offline] a page of 100 videos to VideosListResponse, against json.loads")
    from video_api.model.videos_list_response import VideosListResponse

    body = fixtures.encode(fixtures.page(100))
    loads, from_wire = json.loads, VideosListResponse._from_wire
    parsed = from_wire(loads(body))
    if len(parsed.data) != 100 or parsed.to_dict() != loads(body):
        failures.append(Failure("offline", "sdk", -1, "the parsed page differs from its JSON"))
        return

    def sdk(n: int) -> None:
        for _ in range(n):
            from_wire(loads(body))

    def floor(n: int) -> None:
        for _ in range(n):
            loads(body)

    res = interleave(
        "offline", {"sdk": sdk, "floor": floor}, p["offline_rounds"], p["page_units"], failures
    )
    name = "offline_parse_video_page"
    out[name] = slices_metric(name, "us", 1e6, res["sdk"], res["floor"], "cpu")
    out[name]["body_bytes"] = len(body)


#: The import statements timed in fresh interpreters; None: the startup baseline.
IMPORTS: Dict[str, Optional[str]] = {
    "sdk": "import video_api; from video_api.apis.tags.authentication_api import AuthenticationApi",
    "sdk videos": "from video_api.apis.tags.videos_api import VideosApi",
    "floor": "import urllib3, json",
    "startup": None,
}


def import_command(statement: Optional[str]) -> List[str]:
    """A fresh interpreter timing one import statement (none for the startup baseline).

    It prints the statement's CPU time and wall time. ``-E -S`` with site-packages
    appended by hand: this sandbox's site hooks import certifi at startup, which
    would hide the cost of importing it on a user's machine. ``-E`` also ignores
    PYTHONDONTWRITEBYTECODE, so the warm-up round leaves bytecode caches to time with.
    """
    paths = [p for p in [*site.getsitepackages(), site.getusersitepackages()] if os.path.isdir(p)]
    stmt = f"{statement}; " if statement else ""
    code = (
        f"import os, sys; sys.path.extend({paths!r}); from time import perf_counter, process_time; "
        f"c, w = process_time(), perf_counter(); {stmt}"
        "print(process_time() - c, perf_counter() - w)"
    )
    return [sys.executable, "-E", "-S", "-c", code]


def imports(p: Dict[str, int], failures: List[Failure], out: Dict[str, Any]) -> None:
    """Import cost in fresh interpreters: CPU of the import statement (robust to a busy
    machine), and the interpreter's wall time minus that of one that imports nothing."""
    log("[imports] fresh interpreters, alternating")
    commands = {name: import_command(statement) for name, statement in IMPORTS.items()}
    res = {name: Slices() for name in commands}
    names = list(commands)
    for r in range(-1, p["import_runs"]):  # round -1 warms the bytecode caches
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            w0 = time.perf_counter()
            proc = subprocess.run(commands[name], cwd=ROOT, capture_output=True, text=True)
            w1 = time.perf_counter()
            try:
                if proc.returncode:
                    raise ValueError
                cpu, _ = (float(v) for v in proc.stdout.split())
            except ValueError:
                failures.append(
                    Failure("imports", name, r, f"exit {proc.returncode}: {proc.stderr[-300:]}")
                )
                continue
            if r >= 0:
                res[name].cpu.append(cpu)
                res[name].wall.append(w1 - w0)
                res[name].rounds.append(r)
    startup = median(res["startup"].wall) or 0.0
    for s in (res["sdk"], res["sdk videos"], res["floor"]):
        s.wall = [w - startup for w in s.wall]
    for name, sdk in (("import_time", "sdk"), ("import_time_videos_api", "sdk videos")):
        out[name] = slices_metric(name, "ms", 1e3, res[sdk], res["floor"], "cpu")
        out[name + "_wall"] = slices_metric(
            name + "_wall", "ms", 1e3, res[sdk], res["floor"], "wall"
        )
        out[name]["statement"] = out[name + "_wall"]["statement"] = IMPORTS[sdk]
        out[name + "_wall"]["startup_ms"] = round(startup * 1e3, 3)


def memory(p: Dict[str, int], failures: List[Failure], out: Dict[str, Any]) -> None:
    """Peak RSS after N calls, one fresh process per contender, and early vs late per-call CPU."""
    total = p["mem_total"]
    log(f"[memory] a child process per contender, {total} calls each, x{p['mem_reps']}")
    runs: Dict[str, List[Dict[str, Any]]] = {"sdk": [], "floor": []}
    # Bytecode caches, as an installed package has them (pip compiles it) and urllib3 has
    # them: without, the SDK's peak would hold the compiler's work, where PYTHONDONTWRITEBYTECODE
    # is set (as on the development machine) and a module changed since its cache was written.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "video_api")], check=True)
    for rep in range(p["mem_reps"]):
        for name in ("sdk", "floor") if rep % 2 == 0 else ("floor", "sdk"):
            with emulator_process() as (url, key):
                args = [total, p["mem_warm"], p["mem_blocks"], p["mem_block"]]
                proc = subprocess.run(
                    [sys.executable, str(BENCH / "rss_child.py"), name, url, key, *map(str, args)],
                    cwd=ROOT,
                    env=child_env(),
                    capture_output=True,
                    text=True,
                    timeout=600,
                )
            try:
                result = json.loads(proc.stdout)
            except ValueError:
                failures.append(Failure("memory", name, rep, f"child: {proc.stderr[-300:]}"))
                continue
            for message in result["failures"]:
                failures.append(Failure("memory", name, rep, message))
            runs[name].append(result)

    def values(name: str, key: str, factor: float = 1.0) -> List[float]:
        return [r[key] * factor for r in runs[name] if r.get(key) is not None]

    def pairs(key: str) -> List[float]:
        return [s[key] / f[key] for s, f in zip(runs["sdk"], runs["floor"]) if s[key] and f[key]]

    out["peak_rss"] = metric(
        "peak_rss",
        "MiB",
        median(values("sdk", "maxrss_kb", 1 / 1024)),
        median(values("floor", "maxrss_kb", 1 / 1024)),
        pairs("maxrss_kb"),
        calls=total,
        samples={"a": values("sdk", "maxrss_kb"), "b": values("floor", "maxrss_kb")},
        runs=runs,
    )
    for name in ("sdk", "floor"):
        objects = [r["objects_at_total"] - r["objects_at_warm"] for r in runs[name]]
        rss = [
            r["rss_kb_at_total"] - r["rss_kb_at_warm"]
            for r in runs[name]
            if r["rss_kb_at_total"] is not None and r["rss_kb_at_warm"] is not None
        ]
        key = f"per_call_growth_{name}"
        out[key] = metric(
            key,
            "us",
            median(values(name, "cpu_aged", 1e6)),
            median(values(name, "cpu_young", 1e6)),
            [x for r in runs[name] for x in r["growth_ratios"]],
            a_is=f"{name} CPU per call, a client that made {total} calls",
            b_is=f"{name} CPU per call, a client that made {p['mem_warm']} calls",
            gc_objects_growth=median(objects),
            rss_growth_kb=median(rss),
        )


def run_threads(
    call: Callable[[], None], threads: int, per_thread: int
) -> Tuple[float, float, List[str]]:
    """``threads`` threads making ``per_thread`` calls each; (wall s, client CPU s, failures)."""
    barrier = threading.Barrier(threads + 1)
    errors: List[str] = []

    def worker() -> None:
        barrier.wait()
        try:
            for _ in range(per_thread):
                call()
        except CallFailed as error:
            errors.append(str(error))

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for w in workers:
        w.start()
    c0, w0 = time.process_time(), time.perf_counter()
    barrier.wait()
    for w in workers:
        w.join()
    return time.perf_counter() - w0, time.process_time() - c0, errors


def threads(p: Dict[str, int], failures: List[Failure], out: Dict[str, Any]) -> None:
    """N threads sharing one ApiClient against N threads sharing one PoolManager(maxsize=N)."""
    n, per = p["threads"], p["thread_calls"]
    log(f"[threads] {n} threads sharing one client, {n * per} calls a round")
    res = {"sdk": Slices(), "floor": Slices()}
    throughput: Dict[str, List[float]] = {"sdk": [], "floor": []}
    with emulator_process() as (url, key):
        contenders: Dict[str, Any] = {
            "sdk": Sdk(url, key, maxsize=n),
            "floor": Floor(url, key, maxsize=n),
        }
        for c in contenders.values():
            run_threads(c.api_key, n, max(2, per // 4))  # open the connections
        for r in range(p["thread_rounds"]):
            for name in ("sdk", "floor") if r % 2 == 0 else ("floor", "sdk"):
                wall, cpu, errors = run_threads(contenders[name].api_key, n, per)
                if errors:
                    failures.extend(Failure("threads", name, r, e) for e in errors)
                    continue
                res[name].cpu.append(cpu / (n * per))
                res[name].wall.append(wall / (n * per))
                res[name].rounds.append(r)
                throughput[name].append(n * per / wall)
        connections = {k: c.connections() for k, c in contenders.items()}
        for c in contenders.values():
            c.close()
    sdk, floor = res["sdk"], res["floor"]
    out["threads_throughput"] = metric(
        "threads_throughput",
        "calls/s",
        median(throughput["sdk"]),
        median(throughput["floor"]),
        [1 / x for x in paired_ratios(sdk, floor, "wall")],
        samples={"a": scaled(throughput["sdk"], 1), "b": scaled(throughput["floor"], 1)},
        threads=n,
        connections=connections,
    )
    out["threads_cpu_per_call"] = slices_metric(
        "threads_cpu_per_call", "us", 1e6, sdk, floor, "cpu"
    )


# -- output
def fmt(value: Optional[float]) -> str:
    if value is None:
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.1f}"
    return f"{value:.2f}" if abs(value) >= 1 else f"{value:.3f}"


def table(metrics: Dict[str, Any]) -> str:
    head = ("metric", "unit", "A", "B", "A/B", "IQR", "n", "target", "verdict")
    rows = [head]
    for name in METRICS:
        m = metrics.get(name)
        if m is None:
            continue
        iqr = m["ratio_iqr"]
        rows.append(
            (
                name,
                m["unit"],
                fmt(m["a"]),
                fmt(m["b"]),
                "-" if m["ratio"] is None else f"{m['ratio']:.3f}x",
                "-" if not iqr else f"{iqr[0]:.2f}-{iqr[1]:.2f}",
                str(m["n"]),
                m["target"],
                m["verdict"],
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = [
        "  ".join(
            c.ljust(w) if i in (0, 1, 7, 8) else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths))
        )
        for r in rows
    ]
    lines.insert(1, "-" * len(lines[0]))
    lines.append("")
    lines.append(
        "A = sdk, B = floor (urllib3 + json); for *_timed: B = the floor with the SDK's "
        "default timeout (5, 60); for per_call_growth_*: A = a client after N calls, "
        "B = one after 100, alternated in one process."
    )
    lines.append("A/B = median of per-round ratios; IQR = their 25th-75th percentiles.")
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="short smoke run")
    parser.add_argument("--out", default=str(BENCH / "results.json"), help="JSON results path")
    parser.add_argument(
        "--only",
        default=",".join(SECTIONS),
        help=f"comma-separated sections: {', '.join(SECTIONS)}",
    )
    args = parser.parse_args(argv)
    sections = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    params = QUICK if args.quick else FULL
    failures: List[Failure] = []
    metrics: Dict[str, Any] = {}
    started, load_before = time.time(), os.getloadavg()

    body: Optional[bytes] = None
    if "network" in sections:
        body = network(params, failures, metrics)
    if "videos" in sections:
        videos(params, failures, metrics)
    if "offline" in sections:
        if body is None:
            with emulator_process() as (url, key):
                floor = Floor(url, key)
                reply = floor.http.request(
                    "POST", floor.api_key_url, body=json.dumps({"apiKey": key})
                )
                floor.close()
            if reply.status != 200:
                raise RuntimeError(f"the emulator answered {reply.status} to a valid API key")
            body = reply.data
        offline(params, failures, metrics, body)
    if "imports" in sections:
        imports(params, failures, metrics)
    if "memory" in sections:
        memory(params, failures, metrics)
    if "threads" in sections:
        threads(params, failures, metrics)

    meta: Dict[str, Any] = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "duration_s": round(time.time() - started, 2),
        "quick": args.quick,
        "params": params,
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "urllib3": getattr(urllib3, "__version__", "?"),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "loadavg_before": load_before,
        "loadavg_after": os.getloadavg(),
    }
    result = {"meta": meta, "metrics": metrics, "failures": [f.as_dict() for f in failures]}
    with open(args.out, "w") as out:
        json.dump(result, out, indent=2)
    print(table(metrics))
    print(
        f"\n{meta['duration_s']} s, load {load_before[0]:.1f} -> "
        f"{meta['loadavg_after'][0]:.1f}; results in {args.out}"
    )
    if failures:
        print(f"\n{len(failures)} failed call(s), not timed:")
        for failure in failures[:20]:
            print(
                f"  [{failure.section}] {failure.contender} round {failure.round}: "
                f"{failure.message}"
            )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
