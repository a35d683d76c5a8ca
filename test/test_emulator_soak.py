"""The emulator under a bounded soak: 8 threads x 2,000 mixed calls against one emulator in
its own process, a few of them faulted on purpose. No error but the injected faults and the
errors asked for (unknown ids, bad queries), and the process's memory (VmRSS) flat within
10 % from the end of the warm-up to the end of the soak.

The emulator runs in a subprocess so that its resident memory is its own; it is started by
a short script rather than ``video-api serve`` because faults are injected in code.
"""

from __future__ import annotations

import base64
import http.client
import json
import random
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import pytest

ROOT = Path(__file__).resolve().parent.parent
THREADS = 8
CALLS = 2000  # per thread
WARM_UP = 500  # per thread: the memory measured after these is the reference
POOL = 4  # videos per thread, worked on again and again
FAULT_RATE = 0.02
DEADLINE = 300.0  # seconds for the whole soak, at most
KEY = "soak-api-key"
BASIC = "Basic " + base64.b64encode(f"{KEY}:".encode()).decode()
VTT = b"WEBVTT\n\n00:00:00.000 --> 00:00:01.000\nHi\n"
BOUNDARY = "soak-boundary"

SERVER = f"""
import sys
from video_api.testing import Emulator, Fault
emulator = Emulator(api_keys=[{KEY!r}])
emulator.start()
faults = [Fault.status(503), Fault.status(500), Fault.rate_limited("0")]
emulator.fault_mix({FAULT_RATE}, faults, seed=11)
print(emulator.url, flush=True)
sys.stdin.readline()
print(emulator.faults_injected, flush=True)
emulator.stop()
"""

#: What an injected fault looks like (Fault.status: a problem of type about:blank).
FAULTED = {500, 503, 429}


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


class Client:
    """One thread's keep-alive connection; retries a faulted call as a client would."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        self.faults = 0
        self.unexpected: List[str] = []

    def call(self, method: str, path: str, payload: Any = None, expect: int = 0) -> Tuple[int, Any]:
        headers = {"Authorization": BASIC}
        body: Optional[bytes] = None
        if isinstance(payload, bytes):
            headers["Content-Type"] = f"multipart/form-data; boundary={BOUNDARY}"
            body = (
                (
                    f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
                    f'filename="f"\r\n\r\n'
                ).encode()
                + payload
                + f"\r\n--{BOUNDARY}--\r\n".encode()
            )
        elif payload is not None:
            headers["Content-Type"], body = "application/json", json.dumps(payload).encode()
        for _ in range(10):
            try:
                self.connection.request(method, path, body=body, headers=headers)
                response = self.connection.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException) as error:
                self.unexpected.append(f"{method} {path}: {error!r}")
                self.connection.close()
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                continue
            if response.status in FAULTED and b"about:blank" in data:
                self.faults += 1
                continue
            ok = response.status == expect if expect else response.status < 300
            if not ok:
                self.unexpected.append(f"{method} {path}: {response.status} {data[:200]!r}")
            return response.status, json.loads(data) if data else None
        self.unexpected.append(f"{method} {path}: faulted 10 times")
        return 0, None


def mixed_calls(client: Client, rng: random.Random, count: int, videos: List[str]) -> None:
    """``count`` calls (some steps make two or three), over this thread's pool of videos."""
    made = 0

    def one(step: Callable[[], int]) -> None:
        nonlocal made
        made += step()

    def get() -> int:
        client.call("GET", f"/videos/{rng.choice(videos)}")
        return 1

    def update() -> int:
        title = f"title {rng.randrange(1000)}"
        client.call("PATCH", f"/videos/{rng.choice(videos)}", {"title": title})
        return 1

    def by_tag() -> int:
        client.call("GET", "/videos?tags[]=soak&metadata[level]=1&pageSize=10&sortOrder=desc")
        return 1

    def discard_and_restore() -> int:
        video_id = rng.choice(videos)
        client.call("DELETE", f"/videos/{video_id}")
        client.call("GET", "/discarded/videos?pageSize=5")
        client.call("PATCH", f"/discarded/videos/{video_id}", {"discarded": False})
        return 3

    def caption() -> int:
        video_id = rng.choice(videos)
        client.call("POST", f"/videos/{video_id}/captions/fr", VTT)
        client.call("DELETE", f"/videos/{video_id}/captions/fr")
        return 2

    def thumbnail() -> int:
        client.call("PATCH", f"/videos/{rng.choice(videos)}/thumbnail", {"timecode": "00:00:01"})
        return 1

    def live_stream() -> int:
        stream = client.call("POST", "/live-streams", {"name": "soak"})[1]
        if stream:
            client.call("DELETE", f"/live-streams/{stream['liveStreamId']}")
        return 2

    def upload_token() -> int:
        token = client.call("POST", "/upload-tokens", {"ttl": 60})[1]
        if token:
            client.call("DELETE", f"/upload-tokens/{token['token']}")
        return 2

    def read_only() -> int:
        path = rng.choice(["/tags", "/players", "/webhooks", "/data/metrics/play/count"])
        client.call("GET", path)
        return 1

    def asked_for_errors() -> int:
        client.call("GET", "/videos/viUnknown000000000000000", expect=404)
        client.call("GET", "/videos?sortOrder=AAA", expect=400)
        return 2

    steps = [get, get, update, by_tag, discard_and_restore, caption, thumbnail, live_stream]
    steps += [upload_token, read_only, read_only, asked_for_errors]
    while made < count:
        one(rng.choice(steps))


@pytest.mark.slow  # seconds long: the quick run leaves it out
def test_soak_8_threads_of_2000_calls_memory_flat() -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", SERVER],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdin is not None and process.stdout is not None
    try:
        url = process.stdout.readline().strip()
        port = int(url.rsplit(":", 1)[1])
        clients = [Client(port) for _ in range(THREADS)]
        video = {"title": "soak", "tags": ["soak"], "metadata": [{"key": "level", "value": "1"}]}
        pools = [
            [client.call("POST", "/videos", video)[1]["videoId"] for _ in range(POOL)]
            for client in clients
        ]
        figures: Dict[str, Any] = {}

        def phase(count: int, seed: int) -> float:
            started = time.monotonic()
            threads = [
                threading.Thread(
                    target=mixed_calls,
                    args=(client, random.Random(seed + n), count, pools[n]),
                    daemon=True,
                )
                for n, client in enumerate(clients)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(max(0.0, DEADLINE - (time.monotonic() - started)))
                assert not thread.is_alive(), "a soak thread did not finish in time"
            return time.monotonic() - started

        start_rss = rss_kib(process.pid)
        figures["warm-up s"] = phase(WARM_UP, 100)
        warm_rss = rss_kib(process.pid)
        figures["soak s"] = phase(CALLS - WARM_UP, 200)
        end_rss = rss_kib(process.pid)
        process.stdin.write("stop\n")
        process.stdin.flush()
        injected = int(process.stdout.readline())
        process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    unexpected = [line for client in clients for line in client.unexpected]
    seen = sum(client.faults for client in clients)
    figures.update(
        start_kib=start_rss, warm_kib=warm_rss, end_kib=end_rss, faults=seen, injected=injected
    )
    print(f"\nemulator soak: {figures}")
    assert unexpected == [], unexpected[:10]
    assert seen == injected > 0
    assert end_rss <= warm_rss * 1.10, figures
