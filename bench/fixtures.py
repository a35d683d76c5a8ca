"""Response bodies as api.video sends them: a video with every field, and a page of them.

Plain data, no package import: the loopback server and both contenders use it.
"""

from __future__ import annotations

import json
from typing import Any, Dict

VIDEO_ID = "vi4blUQJFrYWbaG44NChkH27"


def video(video_id: str = VIDEO_ID, n: int = 0) -> Dict[str, Any]:
    """A video object with every field GET /videos/{videoId} returns."""
    embed = f"https://embed.api.video/vod/{video_id}"
    cdn = f"https://vod.api.video/vod/{video_id}"
    return {
        "videoId": video_id,
        "createdAt": "2024-07-14T23:36:07+00:00",
        "title": f"Maths video {n}",
        "description": "An amazing video explaining the string theory",
        "publishedAt": "2024-07-14T23:36:18+00:00",
        "updatedAt": "2024-07-15T08:02:41+00:00",
        "discardedAt": None,
        "deletesAt": None,
        "discarded": False,
        "language": "en",
        "languageOrigin": "api",
        "tags": ["maths", "string theory", "video"],
        "metadata": [
            {"key": "Author", "value": "John Doe"},
            {"key": "Format", "value": "Tutorial"},
        ],
        "source": {
            "type": "upload",
            "uri": f"/videos/{video_id}/source",
            "liveStream": {
                "liveStreamId": "li400mYKSgQ6xs7taUeSaEKr",
                "links": [{"rel": "self", "uri": "/live-streams/li400mYKSgQ6xs7taUeSaEKr"}],
            },
        },
        "assets": {
            "iframe": f'<iframe src="{embed}" width="100%" height="100%" frameborder="0" '
            'scrolling="no" allowfullscreen=""></iframe>',
            "player": embed,
            "hls": f"{cdn}/hls/manifest.m3u8",
            "thumbnail": f"{cdn}/thumbnail.jpg",
            "mp4": f"{cdn}/mp4/source.mp4",
        },
        "playerId": "pl4k0jvEUuaTdRAEjQ4Jfrgz",
        "public": False,
        "panoramic": False,
        "mp4Support": True,
    }


def page(count: int = 100) -> Dict[str, Any]:
    """Page 2 of GET /videos with ``count`` videos a page."""
    data = [video(f"vi{i:022d}", i) for i in range(count)]
    query = f"/videos?pageSize={count}&currentPage="
    return {
        "data": data,
        "pagination": {
            "itemsTotal": 3 * count,
            "pagesTotal": 3,
            "pageSize": count,
            "currentPage": 2,
            "currentPageItems": count,
            "links": [
                {"rel": "self", "uri": f"{query}2"},
                {"rel": "first", "uri": f"{query}1"},
                {"rel": "previous", "uri": f"{query}1"},
                {"rel": "next", "uri": f"{query}3"},
                {"rel": "last", "uri": f"{query}3"},
            ],
        },
    }


def encode(value: Any) -> bytes:
    """Compact JSON, as the API sends it."""
    return json.dumps(value, separators=(",", ":")).encode()
