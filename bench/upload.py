"""Benchmark video uploads: the SDK against hand-written urllib3 code and api.video's client.

    python bench/upload.py                  # a 1 GiB file, 50 MiB chunks, 3 rounds
    python bench/upload.py --size-mib 256 --rounds 5

Every upload goes to a sink on loopback (a separate process) that reads each request, hashes
the file's bytes of each part and answers as api.video does; after each upload the parts'
SHA-256 are checked against the file's. Each upload runs in a fresh child process, which
reports the upload's wall time and its peak RSS (VmHWM) above its own baseline: the RSS of
the bare interpreter, measured before it imports the client. Contenders alternate, in an
order that rotates each round; the table gives medians, and the throughput ratio is the
median of the per-round ratios, so that a busy machine slows both sides alike.

Contenders, on the same file and chunks:

- ``urllib3``: hand-written code streaming each part from the file with urllib3, the floor;
- ``sdk``: ``VideosApi.upload(video_id, path)``;
- ``sdk x4``: the same with ``concurrency=4``;
- ``sdk pipe``: ``VideosApi.upload(video_id, sys.stdin.buffer)``, the file fed through a pipe;
- ``api.video``: api.video's own client (``api.video`` on PyPI), when installed.

Targets: ``sdk`` at least 0.9x the floor's throughput; its peak RSS above the baseline at
most 64 MiB with 50 MiB chunks, and ``sdk pipe`` at most one chunk above that. Linux only
(VmHWM is read from /proc).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import http.server
import json
import os
import re
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, ClassVar, Dict, List, Optional, Tuple

ROOT = Path(__file__).resolve().parent.parent
MiB = 1024 * 1024
BLOCK = MiB
VIDEO_ID = "vi0bench0upload0sink000"
API_KEY = "bench-key"
TARGET_RATIO = 0.9
TARGET_RSS_MIB = 64
CONTENDERS = ("urllib3", "sdk", "sdk x4", "sdk pipe", "api.video")


# -- the sink ---------------------------------------------------------------------------------


class Sink(http.server.BaseHTTPRequestHandler):
    """Reads each upload request whole, hashing the file's bytes of its multipart body."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    parts: ClassVar[Dict[int, Tuple[int, str]]] = {}  # part number -> (size, SHA-256)
    lock = threading.Lock()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def answer(self, status: int, value: Any) -> None:
        body = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        with self.lock:
            parts = {str(number): list(value) for number, value in self.parts.items()}
        self.answer(200, parts)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        if self.path == "/auth/api-key":
            self.rfile.read(length)
            tokens = {"access_token": "a", "refresh_token": "r", "expires_in": 3600}
            self.answer(200, {**tokens, "token_type": "Bearer"})
            return
        if self.path == "/reset":
            self.rfile.read(length)
            with self.lock:
                self.parts.clear()
            self.answer(200, {})
            return
        boundary = self.headers.get_param("boundary") or ""
        tail = len(f"\r\n--{boundary}--\r\n")
        match = re.match(r"part (\d+)/", self.headers.get("Content-Range", "part 1/1"))
        number = int(match.group(1)) if match else 0
        digest, size = self.read_file_part(length, tail)
        with self.lock:
            self.parts[number] = (size, digest)
        self.answer(201, {"videoId": VIDEO_ID, "title": "bench"})

    def read_file_part(self, length: int, tail: int) -> Tuple[str, int]:
        """The SHA-256 and size of the bytes between the file field's headers and the
        closing boundary (``tail`` bytes), read in blocks."""
        view = memoryview(bytearray(BLOCK))
        digest = hashlib.sha256()
        left, size = length, 0
        head: Optional[bytes] = b""  # the multipart headers, until the file's bytes start
        held = b""  # the last bytes seen, which may be the closing boundary
        while left > 0:
            count = self.rfile.readinto(view[: min(BLOCK, left)])
            if not count:
                raise ConnectionError("body cut short")
            left -= count
            data = view[:count]
            if head is not None:
                head += bytes(data)
                start = head.find(b"\r\n\r\n", head.find(b'name="file"'))
                if start < 0:
                    continue
                data, head = memoryview(head[start + 4 :]), None
            if len(data) >= tail:
                digest.update(held)
                digest.update(data[:-tail])
                size += len(held) + len(data) - tail
                held = bytes(data[-tail:])
            else:
                joined = held + bytes(data)
                cut = max(len(joined) - tail, 0)
                digest.update(joined[:cut])
                size += cut
                held = joined[cut:]
        return digest.hexdigest(), size


class SinkServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def serve_sink() -> None:
    server = SinkServer(("127.0.0.1", 0), Sink)
    print(server.server_address[1], flush=True)
    server.serve_forever()


# -- one upload, in a child process -------------------------------------------------------------


def status_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def part_bodies(path: str, chunk: int, boundary: str) -> Any:
    """The floor's parts: (number, count, length, body generator), streamed from the file."""
    size = os.path.getsize(path)
    count = max(1, -(-size // chunk))
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="{os.path.basename(path)}"\r\nContent-Type: video/mp4\r\n\r\n'
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    for number in range(1, count + 1):
        offset = (number - 1) * chunk
        length = min(chunk, size - offset)

        def body(offset: int = offset, length: int = length) -> Any:
            yield head
            with open(path, "rb") as file:
                file.seek(offset)
                left = length
                while left:
                    block = file.read(min(BLOCK, left))
                    left -= len(block)
                    yield block
            yield tail

        yield number, count, len(head) + length + len(tail), body


def run_child(name: str, url: str, path: str, chunk: int) -> Dict[str, Any]:
    """One upload by contender ``name``: wall seconds and peak RSS above the baseline."""
    baseline = status_kib("VmRSS")
    if name == "urllib3":
        import base64

        import urllib3

        host, port = url.rsplit("//", 1)[1].split(":")
        pool = urllib3.HTTPConnectionPool(host, int(port), maxsize=1)
        boundary = os.urandom(16).hex()
        credentials = base64.b64encode(f"{API_KEY}:".encode()).decode()
        started, cpu = time.perf_counter(), time.process_time()
        for number, count, length, body in part_bodies(path, chunk, boundary):
            response = pool.urlopen(
                "POST",
                f"/videos/{VIDEO_ID}/source",
                body=body(),
                headers={
                    "Content-Type": f"multipart/form-data; boundary={boundary}",
                    "Content-Length": str(length),
                    "Content-Range": f"part {number}/{count}",
                    "Authorization": f"Basic {credentials}",
                    "Accept": "application/json",
                },
                retries=False,
            )
            if response.status != 201:
                raise RuntimeError(f"part {number}: {response.status}")
            json.loads(response.data)
    elif name.startswith("sdk"):
        sys.path.insert(0, str(ROOT))
        import video_api
        from video_api.apis.tags.videos_api import VideosApi

        configuration = video_api.Configuration(host=url, api_key=API_KEY)
        with video_api.ApiClient(configuration) as client:
            videos = VideosApi(client)
            source: Any = sys.stdin.buffer if name == "sdk pipe" else path
            started, cpu = time.perf_counter(), time.process_time()
            video = videos.upload(
                VIDEO_ID, source, chunk_size=chunk, concurrency=4 if name == "sdk x4" else 1
            )
            assert video.video_id == VIDEO_ID
    elif name == "api.video":
        import apivideo
        from apivideo.api.videos_api import VideosApi as VendorVideosApi
        from apivideo.configuration import Configuration

        configuration = Configuration(chunk_size=chunk)
        client = apivideo.AuthenticatedApiClient(API_KEY, configuration=configuration)
        client.configuration.host = url  # its constructor sets api.video's
        client.connect()
        started, cpu = time.perf_counter(), time.process_time()
        with open(path, "rb") as file:
            VendorVideosApi(client).upload(VIDEO_ID, file)
        client.close()
    else:
        raise SystemExit(f"unknown contender {name!r}")
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    peak = status_kib("VmHWM")
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "baseline_kib": baseline,
        "peak_above_kib": peak - baseline,
    }


# -- the parent: rounds, checks, table --------------------------------------------------------


def make_file(directory: str, size_mib: int, chunk: int) -> Tuple[str, Dict[int, Tuple[int, str]]]:
    """A file of random bytes, and the (size, SHA-256) of each part it makes."""
    path = os.path.join(directory, "source.mp4")
    expected: Dict[int, Tuple[int, str]] = {}
    digest, done, number = hashlib.sha256(), 0, 1
    with open(path, "wb") as file:
        for _ in range(size_mib):
            block = os.urandom(MiB)
            file.write(block)
            digest.update(block)
            done += MiB
            if done == chunk:
                expected[number] = (done, digest.hexdigest())
                digest, done, number = hashlib.sha256(), 0, number + 1
    if done:
        expected[number] = (done, digest.hexdigest())
    return path, expected


def feed(pipe: Any, path: str) -> None:
    with open(path, "rb") as file, pipe:
        while True:
            block = file.read(BLOCK)
            if not block:
                return
            try:
                pipe.write(block)
            except BrokenPipeError:
                return


def run_one(name: str, url: str, path: str, chunk: int) -> Dict[str, Any]:
    command = [sys.executable, __file__, "--child", name, url, path, str(chunk)]
    pipe = name == "sdk pipe"
    with tempfile.TemporaryFile() as errors:
        child = subprocess.Popen(
            command,
            stdin=subprocess.PIPE if pipe else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=errors,
            cwd=ROOT,
        )
        feeder = None
        if pipe:
            assert child.stdin is not None
            with contextlib.suppress(AttributeError, OSError):  # Linux: a 1 MiB pipe buffer
                fcntl.fcntl(child.stdin.fileno(), fcntl.F_SETPIPE_SZ, MiB)  # type: ignore[attr-defined]
            feeder = threading.Thread(target=feed, args=(child.stdin, path), daemon=True)
            feeder.start()
        assert child.stdout is not None
        out = child.stdout.read()
        child.wait(timeout=1800)
        if feeder is not None:
            feeder.join()
        if child.returncode:
            errors.seek(0)
            message = errors.read().decode(errors="replace")[-2000:]
            raise RuntimeError(f"{name} failed:\n{message}")
    return dict(json.loads(out.decode().strip().splitlines()[-1]))


def sink_parts(url: str) -> Dict[int, Tuple[int, str]]:
    import urllib.request

    with urllib.request.urlopen(url + "/stats") as answer:
        return {int(k): (v[0], v[1]) for k, v in json.loads(answer.read()).items()}


def reset_sink(url: str) -> None:
    import urllib.request

    request = urllib.request.Request(url + "/reset", data=b"", method="POST")
    with urllib.request.urlopen(request):
        pass


def median(values: List[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def have_vendor() -> bool:
    try:
        import apivideo  # noqa: F401
    except ImportError:
        return False
    return True


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024, help="the file's size (1024)")
    parser.add_argument("--chunk-mib", type=int, default=50, help="the chunk size (50)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every contender (3)")
    parser.add_argument("--only", help="comma-separated contenders")
    parser.add_argument("--json", help="write the results to this file too")
    args = parser.parse_args(argv)
    chunk = args.chunk_mib * MiB
    names = [n for n in CONTENDERS if n != "api.video" or have_vendor()]
    if args.only:
        names = [n for n in names if n in args.only.split(",")]
    sink = subprocess.Popen(
        [sys.executable, __file__, "--sink"], stdout=subprocess.PIPE, cwd=ROOT, text=True
    )
    assert sink.stdout is not None
    url = f"http://127.0.0.1:{int(sink.stdout.readline())}"
    results: Dict[str, List[Dict[str, Any]]] = {name: [] for name in names}
    try:
        with tempfile.TemporaryDirectory(prefix="video-api-bench-") as directory:
            print(f"making a {args.size_mib} MiB file ...", file=sys.stderr)
            path, expected = make_file(directory, args.size_mib, chunk)
            for round_number in range(args.rounds):
                shift = round_number % len(names)
                for name in names[shift:] + names[:shift]:
                    reset_sink(url)
                    result = run_one(name, url, path, chunk)
                    received = sink_parts(url)
                    if received != expected:
                        raise RuntimeError(f"{name}: the sink did not get the file's bytes")
                    results[name].append(result)
                    print(
                        f"round {round_number + 1} {name:10} {result['seconds']:7.2f} s "
                        f"(CPU {result['cpu_seconds']:5.2f} s) "
                        f"{result['peak_above_kib'] / 1024:8.1f} MiB",
                        file=sys.stderr,
                    )
    finally:
        sink.terminate()
        sink.wait()
    print_table(results, args.size_mib, args.chunk_mib, args.rounds)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


def print_table(
    results: Dict[str, List[Dict[str, Any]]], size_mib: int, chunk_mib: int, rounds: int
) -> None:
    floor = results.get("urllib3")
    print(
        f"\nupload of {size_mib} MiB in {chunk_mib} MiB chunks to a loopback sink, "
        f"medians of {rounds} rounds"
    )
    print(
        f"{'contender':12} {'MiB/s':>8} {'vs urllib3':>11} {'client CPU s':>13} "
        f"{'peak RSS above baseline':>25}"
    )
    for name, runs in results.items():
        if not runs:
            continue
        speed = median([size_mib / r["seconds"] for r in runs])
        ratio = ""
        if floor and name != "urllib3":
            per_round = [f["seconds"] / r["seconds"] for f, r in zip(floor, runs)]
            ratio = f"{median(per_round):.2f}x"
        rss = median([r["peak_above_kib"] / 1024 for r in runs])
        cpu = median([r["cpu_seconds"] for r in runs])
        print(f"{name:12} {speed:8.0f} {ratio:>11} {cpu:13.2f} {rss:21.1f} MiB")
    sdk = results.get("sdk")
    if floor and sdk:
        ratio = median([f["seconds"] / r["seconds"] for f, r in zip(floor, sdk)])
        rss = median([r["peak_above_kib"] / 1024 for r in sdk])
        verdict = "ok" if ratio >= TARGET_RATIO and rss <= TARGET_RSS_MIB else "MISSED"
        print(
            f"\ntargets: sdk >= {TARGET_RATIO}x urllib3 ({ratio:.2f}x), peak RSS <= "
            f"{TARGET_RSS_MIB} MiB ({rss:.1f}): {verdict}"
        )
    pipe = results.get("sdk pipe")
    if sdk and pipe:
        above = median([r["peak_above_kib"] / 1024 for r in pipe]) - median(
            [r["peak_above_kib"] / 1024 for r in sdk]
        )
        verdict = "ok" if above <= chunk_mib else "MISSED"
        print(f"         sdk pipe <= one chunk above sdk ({above:+.1f} MiB): {verdict}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--sink"]:
        serve_sink()
    elif sys.argv[1:2] == ["--child"]:
        name, url, path, chunk = sys.argv[2:6]
        print(json.dumps(run_child(name, url, path, int(chunk))))
    else:
        sys.exit(main())
