"""Serve the emulator from a shell (``python -m video_api.testing``) for demos and manual tests."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Sequence

from .emulator import Emulator


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until Ctrl-C or SIGTERM; print the URL and API key for the client to use."""
    parser = argparse.ArgumentParser(
        prog="python -m video_api.testing",
        description="Serve an api.video-compatible emulator (auth endpoints and /videos).",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default: %(default)s)"
    )
    parser.add_argument("--port", type=int, default=0, help="port (default: 0, a free one)")
    parser.add_argument(
        "--token-lifetime", type=int, default=3600, metavar="S", help="access token lifetime (s)"
    )
    parser.add_argument(
        "--api-key", default="demo-api-key", metavar="K", help="accepted key (default: %(default)s)"
    )
    args = parser.parse_args(argv)

    done = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: done.set())
    emulator = Emulator(
        host=args.host, port=args.port, api_keys=(args.api_key,), token_lifetime=args.token_lifetime
    )
    try:
        emulator.start()
    except OSError as exc:
        parser.error(f"cannot listen on {args.host}:{args.port}: {exc}")
    try:
        print(f"VIDEO_API_URL={emulator.url}\nVIDEO_API_KEY={emulator.api_key}", flush=True)
        while not done.wait(0.5):  # a timeout keeps Ctrl-C responsive on Windows
            pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
