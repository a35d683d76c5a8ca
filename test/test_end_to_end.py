"""The emulator as a user's test would use it: a whole video's life through the SDK, with the
signed webhook received on loopback; and api.video's own client (``apivideo``) pointed at it.

Everything runs on 127.0.0.1 and is bounded: a few hundred calls, waits of seconds at most.
"""

from __future__ import annotations

import http.server
import threading
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest

import video_api
from video_api.apis.tags.videos_api import VideosApi
from video_api.apis.tags.webhooks_api import WebhooksApi
from video_api.testing import Emulator
from video_api.webhooks import parse_event

WAIT = 10.0  # seconds the webhook deliveries may take, at most


class Receiver(http.server.ThreadingHTTPServer):
    """A loopback webhook endpoint that keeps each call's raw body and headers."""

    def __init__(self) -> None:
        self.calls: List[Tuple[bytes, Dict[str, str]]] = []
        self.arrived = threading.Condition()
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/webhooks/api-video"

    def wait(self, count: int) -> List[Tuple[bytes, Dict[str, str]]]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.calls) >= count, WAIT)
            return list(self.calls)


class _Handler(http.server.BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with self.server.arrived:
            self.server.calls.append((body, dict(self.headers)))
            self.server.arrived.notify_all()
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_a_video_from_creation_to_restore(
    emulator: Emulator, receiver: Receiver, tmp_path: Path
) -> None:
    """Create, upload, get the signed encoding webhook, find by tag and by metadata, page
    through 250 videos, delete, see it discarded, restore."""
    movie = tmp_path / "lesson.mp4"
    movie.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 400)
    configuration = video_api.Configuration(host=emulator.url, api_key=emulator.api_key)
    with video_api.ApiClient(configuration) as client:
        videos = VideosApi(client)
        event = "video.encoding.quality.completed"
        hook = WebhooksApi(client).create({"events": [event], "url": receiver.url})
        assert hook.signature_secret

        video = videos.create(
            {
                "title": "Maths, lesson 1",
                "tags": ["maths", "algebra"],
                "metadata": [{"key": "level", "value": "beginner"}],
            }
        )
        uploaded = videos.upload(video.video_id, str(movie))
        assert uploaded.video_id == video.video_id
        assert emulator.uploaded_size(video.video_id) == movie.stat().st_size
        assert videos.get_status(video.video_id).encoding.playable is True

        # One event per quality, each signed with the webhook's secret.
        calls = receiver.wait(4)
        events = [parse_event(body, headers, hook.signature_secret) for body, headers in calls]
        assert {(e.type, e.video_id) for e in events} == {(event, video.video_id)}
        assert sorted(e.quality or "" for e in events) == ["240p", "360p", "480p", "720p"]
        assert all(h["X-Api-Video-WebhookID"] == hook.webhook_id for _, h in calls)

        for n in range(249):
            videos.create({"title": f"Filler {n:03}", "tags": ["filler"]})
        by_tag = videos.list(tags=["algebra"]).data or []
        assert [v.video_id for v in by_tag] == [video.video_id]
        by_metadata = videos.list(metadata={"level": "beginner"}).data or []
        assert [v.video_id for v in by_metadata] == [video.video_id]

        first = videos.list(page_size=100)
        assert first.pagination is not None
        assert (first.pagination.items_total, first.pagination.pages_total) == (250, 3)
        every = [v.video_id for v in video_api.paginate(videos.list, page_size=100)]
        assert len(every) == len(set(every)) == 250 and every[0] == video.video_id

        videos.delete(video.video_id)
        with pytest.raises(video_api.NotFoundException):
            videos.get(video.video_id)
        discarded = videos.list_discarded().data or []
        assert [(v.video_id, v.discarded) for v in discarded] == [(video.video_id, True)]
        assert videos.get_discarded(video.video_id).title == "Maths, lesson 1"

        restored = videos.update_discarded(video.video_id, {"discarded": False})
        assert (restored.video_id, restored.discarded) == (video.video_id, False)
        assert list(videos.get(video.video_id).tags or ()) == ["maths", "algebra"]
        assert list(videos.list_discarded().data or ()) == []
        assert videos.list(tags=["algebra"]).pagination.items_total == 1  # type: ignore[union-attr]


# -- api.video's own client against the emulator ---------------------------------------------


@pytest.fixture
def vendor_client(emulator: Emulator) -> Iterator[Any]:
    """api.video's client, authenticated on the emulator. Its ``with`` block is not used:
    that starts a thread refreshing the token; ``connect()`` authenticates once."""
    apivideo = pytest.importorskip("apivideo")
    client = apivideo.AuthenticatedApiClient(emulator.api_key)
    client.configuration.host = emulator.url
    client.connect()
    try:
        yield client
    finally:
        client.close()


def test_the_vendor_client_works_against_the_emulator(
    emulator: Emulator, vendor_client: Any, tmp_path: Path
) -> None:
    """Create, list with metadata and tags, upload, a progressive session, an upload token,
    delete: api.video's client 1.4.7 raises nothing."""
    from apivideo.api.upload_tokens_api import UploadTokensApi
    from apivideo.api.videos_api import VideosApi as VendorVideosApi
    from apivideo.model.metadata import Metadata
    from apivideo.model.token_creation_payload import TokenCreationPayload
    from apivideo.model.video_creation_payload import VideoCreationPayload

    videos = VendorVideosApi(vendor_client)
    level = [Metadata(key="level", value="beginner")]
    created = videos.create(
        VideoCreationPayload(title="Maths", tags=["maths", "algebra"], metadata=level)
    )
    other = videos.create(VideoCreationPayload(title="History", tags=["history"]))
    listed = videos.list(tags=["maths"], metadata={"level": "beginner"})
    assert [v.video_id for v in listed.data] == [created.video_id]
    assert listed.pagination.items_total == 1

    movie = tmp_path / "movie.mp4"
    movie.write_bytes(bytes(range(256)) * 1000)
    with movie.open("rb") as file:
        uploaded = videos.upload(created.video_id, file)
    assert uploaded.video_id == created.video_id
    assert emulator.uploaded_size(created.video_id) == 256_000

    # A progressive session: every part but the last is at least 5 MiB, as the API wants.
    session = videos.create_upload_progressive_session(other.video_id)
    first, last = tmp_path / "part1.mp4", tmp_path / "part2.mp4"
    first.write_bytes(b"a" * (5 * 1024 * 1024))
    last.write_bytes(b"b" * 1000)
    with first.open("rb") as part:
        session.uploadPart(part)
    with last.open("rb") as part:
        done = session.uploadLastPart(part)
    assert done.video_id == other.video_id
    assert emulator.uploaded_size(other.video_id) == 5 * 1024 * 1024 + 1000
    assert emulator.uploaded_parts(other.video_id) == [1, 2]

    token = UploadTokensApi(vendor_client).create_token(TokenCreationPayload(ttl=60))
    with movie.open("rb") as file:
        by_token = videos.upload_with_upload_token(token.token, file)
    assert emulator.uploaded_size(by_token.video_id) == 256_000

    for video_id in (created.video_id, other.video_id, by_token.video_id):
        videos.delete(video_id)
    assert videos.list().pagination.items_total == 0
    assert videos.list_discarded().pagination.items_total == 3
