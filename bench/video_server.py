"""A loopback server for ``GET /videos/{videoId}``: fixed bytes, independent of the emulator.

    python bench/video_server.py    # prints VIDEO_API_URL=... and VIDEO_API_KEY=..., serves

Only ``GET /videos/<fixtures.VIDEO_ID>`` with ``Authorization: Basic <key:>`` gets the
200 and the full video (prepared once, with api.video's rate-limit headers); any other
request gets a 401 or a 404, so a contender that calls the wrong URL or sends no
credentials fails its check. Keep-alive, one thread per connection; stops on SIGTERM.
"""

from __future__ import annotations

import base64
import secrets
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NoReturn

from fixtures import VIDEO_ID, encode, video


def reply(status: str, body: bytes) -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        "X-RateLimit-Limit: 60\r\n"
        "X-RateLimit-Remaining: 59\r\n"
        "X-RateLimit-Retry-After: 60\r\n"
        "\r\n"
    )
    return head.encode() + body


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    path_ok = f"/videos/{VIDEO_ID}"
    credentials = ""  # set in main
    ok = reply("200 OK", encode(video()))
    unauthorized = reply("401 Unauthorized", b'{"status":401,"title":"Unauthorized"}')
    not_found = reply("404 Not Found", b'{"status":404,"title":"Not Found"}')

    def do_GET(self) -> None:
        if self.headers.get("Authorization") != self.credentials:
            self.wfile.write(self.unauthorized)
        elif self.path != self.path_ok:
            self.wfile.write(self.not_found)
        else:
            self.wfile.write(self.ok)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: no per-request log."""


def main() -> int:
    key = secrets.token_hex(16)
    Handler.credentials = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True

    def stop(*_: object) -> NoReturn:
        server.server_close()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    print(f"VIDEO_API_URL=http://127.0.0.1:{server.server_address[1]}", flush=True)
    print(f"VIDEO_API_KEY={key}", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
