"""``python -m video_api.testing``: an alias of ``video-api serve``, kept for existing scripts.

One implementation, so the two entry points cannot drift: same options, help and output
(``VIDEO_API_URL=...`` and ``VIDEO_API_KEY=...`` first, then ``#`` comment lines).
"""

from __future__ import annotations

import sys
from typing import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until Ctrl-C or SIGTERM; see ``video-api serve --help``."""
    from video_api.__main__ import main as cli

    return cli(["serve", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
