"""Video uploads (video_api/upload.py) over real HTTP to the emulator: chunked, concurrent,
progressive and delegated uploads arrive whole (the emulator's SHA-256 of what it assembled
is the source's), through resets, 5xx and stalls; a final failure resumes; bad input is
refused before anything is sent."""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import socket
import subprocess
import sys
import threading
import time
import tracemalloc
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import pytest

import video_api
from video_api.apis.tags.videos_api import VideosApi
from video_api.testing import Emulator, Fault
from video_api.upload import (
    DEFAULT_CHUNK_SIZE,
    MAX_CHUNK_SIZE,
    MAX_SIZE,
    MIN_CHUNK_SIZE,
    UploadError,
)

MiB = 1024 * 1024
CHUNK = 5 * MiB
#: 12 MiB and a bit: three parts of 5 MiB chunks, the last one short.
SIZE = 12 * MiB + 4321


@pytest.fixture(scope="module")
def data() -> bytes:
    return os.urandom(SIZE)


@pytest.fixture
def api(emulator: Emulator) -> Iterator[VideosApi]:
    configuration = video_api.Configuration(
        host=emulator.url, api_key=emulator.api_key, timeout=(2.0, 10.0)
    )
    with video_api.ApiClient(configuration) as client:
        yield VideosApi(client)


@pytest.fixture
def anonymous(emulator: Emulator) -> Iterator[VideosApi]:
    """A client with no credentials at all: uploads with a token need none."""
    with video_api.ApiClient(video_api.Configuration(host=emulator.url)) as client:
        yield VideosApi(client)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def new_video(api: VideosApi) -> Tuple[str, str]:
    """A video's id and the path its source goes to."""
    video_id = api.create({"title": "upload test"}).video_id
    assert video_id is not None
    return video_id, f"/videos/{video_id}/source"


def ranges(emulator: Emulator, path: str) -> List[Optional[str]]:
    """The Content-Range of each upload request to ``path``, in arrival order."""
    return [r.headers.get("Content-Range") for r in emulator.requests if r.path == path]


def pipe_of(data: bytes) -> io.BufferedReader:
    """The read end of a pipe that a thread fills with ``data``, then closes."""
    read, write = os.pipe()

    def fill() -> None:
        with os.fdopen(write, "wb") as sink:
            sink.write(data)

    threading.Thread(target=fill, daemon=True).start()
    return os.fdopen(read, "rb")


def socket_file_of(data: bytes) -> Any:
    """A socket's file (``makefile('rb')``): no seek, reads as the peer sends."""
    ours, theirs = socket.socketpair()

    def send() -> None:
        with theirs:
            theirs.sendall(data)

    threading.Thread(target=send, daemon=True).start()
    file = ours.makefile("rb")
    ours.close()  # the file keeps the socket open
    return file


class ReadOnly:
    """A file-like object with nothing but read(): no seek, no fileno, no mode."""

    def __init__(self, data: bytes) -> None:
        self._file = io.BytesIO(data)

    def read(self, size: int = -1) -> bytes:
        return self._file.read(size)


def blocks_of(data: bytes, size: int = 100_003) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


class FailingDisk(io.RawIOBase):
    """A file of ``data`` whose reads reaching past ``fail_at`` fail with EIO while it is set,
    as a bad disk's do; seekable or, like a pipe, not."""

    def __init__(self, data: bytes, fail_at: Optional[int], seekable: bool = True) -> None:
        super().__init__()
        self.data, self.fail_at, self.can_seek = data, fail_at, seekable
        self.position = self.failures = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self.can_seek

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if not self.can_seek:
            raise io.UnsupportedOperation("seek")
        self.position = offset if whence == os.SEEK_SET else len(self.data) + offset
        return self.position

    def tell(self) -> int:
        return self.position

    def readinto(self, buffer: Any) -> int:
        end = min(self.position + len(buffer), len(self.data))
        if self.fail_at is not None and end > self.fail_at:
            self.failures += 1
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        count = end - self.position
        buffer[:count] = self.data[self.position : end]
        self.position = end
        return count


class Huge(io.RawIOBase):
    """A seekable file that says it holds ``size`` bytes (zeros), without any disk."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size, self.position = size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        self.position = offset if whence == os.SEEK_SET else self.size + offset
        return self.position

    def tell(self) -> int:
        return self.position

    def readinto(self, buffer: Any) -> int:
        count = min(len(buffer), self.size - self.position)
        buffer[:count] = bytes(count)
        self.position += count
        return count


SOURCES: List[Tuple[str, Callable[[bytes, Path], Any], bool]] = [
    ("path", lambda d, p: str(p), True),
    ("pathlib", lambda d, p: p, True),
    ("file", lambda d, p: p.open("rb"), True),
    ("bytesio", lambda d, p: io.BytesIO(d), True),
    ("bytes", lambda d, p: d, True),
    ("bytearray", lambda d, p: bytearray(d), True),
    ("memoryview", lambda d, p: memoryview(d), True),
    ("pipe", lambda d, p: pipe_of(d), False),
    ("socket", lambda d, p: socket_file_of(d), False),
    ("read-only object", lambda d, p: ReadOnly(d), False),
    ("generator", lambda d, p: blocks_of(d), False),
]


@pytest.mark.parametrize(("kind", "make", "sized"), SOURCES, ids=[s[0] for s in SOURCES])
def test_every_kind_of_source_arrives_whole_in_parts(
    api: VideosApi,
    emulator: Emulator,
    data: bytes,
    tmp_path: Path,
    kind: str,
    make: Callable[[bytes, Path], Any],
    sized: bool,
) -> None:
    source_path = tmp_path / "clip.mp4"
    source_path.write_bytes(data)
    video_id, path = new_video(api)
    source = make(data, source_path)
    video = api.upload(video_id, source, chunk_size=CHUNK)
    assert video.video_id == video_id
    assert emulator.uploaded_sha256(video_id) == sha256(data)
    # A size known up front: part N/M; a stream's: the progressive form, the last part N/N.
    expected = (
        ["part 1/3", "part 2/3", "part 3/3"] if sized else ["part 1/*", "part 2/*", "part 3/3"]
    )
    assert ranges(emulator, path) == expected
    sent = [r for r in emulator.requests if r.path == path]
    assert all("Authorization" in r.headers for r in sent)
    if kind in ("path", "pathlib", "file"):
        assert b'filename="clip.mp4"' in sent[0].body
    close = getattr(source, "close", None)
    if close is not None and kind != "bytesio":
        close()


def test_a_source_no_larger_than_a_chunk_is_one_request(
    api: VideosApi, emulator: Emulator, tmp_path: Path
) -> None:
    small = tmp_path / "small.mp4"
    small.write_bytes(b"\x00\x00\x00\x18ftypmp42" * 100)
    video_id, path = new_video(api)
    api.upload(video_id, str(small))
    assert ranges(emulator, path) == ["part 1/1"]
    exact = os.urandom(CHUNK)
    video_id, path = new_video(api)
    api.upload(video_id, exact, chunk_size=CHUNK)
    assert ranges(emulator, path) == ["part 1/1"]
    assert emulator.uploaded_sha256(video_id) == sha256(exact)
    video_id, path = new_video(api)
    api.upload(video_id, exact + b"!", chunk_size=CHUNK)
    assert ranges(emulator, path) == ["part 1/2", "part 2/2"]


def test_a_stream_ending_on_a_chunk_boundary_still_says_which_part_is_last(
    api: VideosApi, emulator: Emulator
) -> None:
    exact = os.urandom(2 * CHUNK)
    video_id, path = new_video(api)
    api.upload(video_id, blocks_of(exact, MiB), chunk_size=CHUNK)
    assert ranges(emulator, path) == ["part 1/*", "part 2/2"]
    assert emulator.uploaded_sha256(video_id) == sha256(exact)


def test_the_default_chunk_size_is_api_videos_clients(api: VideosApi, emulator: Emulator) -> None:
    limits = (MIN_CHUNK_SIZE, DEFAULT_CHUNK_SIZE, MAX_CHUNK_SIZE)
    assert limits == (5 * MiB, 50 * MiB, 128 * MiB)
    video_id, path = new_video(api)
    api.upload(video_id, b"x" * (DEFAULT_CHUNK_SIZE + 1))
    assert ranges(emulator, path) == ["part 1/2", "part 2/2"]


def test_the_configurations_chunk_size_is_the_default(api: VideosApi, emulator: Emulator) -> None:
    """api.video's client's documented way: ``Configuration(chunk_size=...)``."""
    api.api_client.configuration.chunk_size = MIN_CHUNK_SIZE
    video_id, path = new_video(api)
    api.upload(video_id, b"x" * (2 * MIN_CHUNK_SIZE + 1))
    assert ranges(emulator, path) == ["part 1/3", "part 2/3", "part 3/3"]
    video_id, path = new_video(api)  # a call's own chunk_size wins
    api.upload(video_id, b"x" * (2 * MIN_CHUNK_SIZE + 1), chunk_size=3 * MIN_CHUNK_SIZE)
    assert ranges(emulator, path) == ["part 1/1"]


# -- faults: each part is resent, same number, same bytes --------------------------------------


def test_parts_cut_off_mid_body_or_refused_with_5xx_are_resent(
    api: VideosApi, emulator: Emulator, data: bytes
) -> None:
    video_id, path = new_video(api)
    emulator.add_fault(path, Fault.reset_mid_body(), times=2, part=2)
    emulator.add_fault(path, Fault.status(503), part=3)
    emulator.add_fault(path, Fault.status(500), part=1)
    api.upload(video_id, io.BytesIO(data), chunk_size=CHUNK)
    assert emulator.uploaded_sha256(video_id) == sha256(data)
    assert ranges(emulator, path) == [
        "part 1/3",
        "part 1/3",
        "part 2/3",
        "part 2/3",
        "part 2/3",
        "part 3/3",
        "part 3/3",
    ]


def test_a_part_refused_before_its_body_is_resent(
    api: VideosApi, emulator: Emulator, data: bytes
) -> None:
    video_id, path = new_video(api)
    emulator.add_fault(path, Fault.reset_before_body(), times=3, part=2)
    api.upload(video_id, data, chunk_size=CHUNK)
    assert emulator.uploaded_sha256(video_id) == sha256(data)
    assert ranges(emulator, path).count("part 2/3") == 4


def test_a_stalled_part_times_out_and_is_resent(
    api: VideosApi, emulator: Emulator, data: bytes
) -> None:
    video_id, path = new_video(api)
    emulator.add_fault(path, Fault.stall(5), part=2)
    started = time.monotonic()
    api.upload(video_id, data, chunk_size=CHUNK, _request_timeout=(2, 0.5))
    assert time.monotonic() - started < 4
    assert emulator.uploaded_sha256(video_id) == sha256(data)
    assert ranges(emulator, path).count("part 2/3") >= 2


def test_a_stream_resends_the_chunk_it_kept(
    api: VideosApi, emulator: Emulator, data: bytes
) -> None:
    video_id, path = new_video(api)
    emulator.add_fault(path, Fault.reset_mid_body(after=MiB), part=2)
    emulator.add_fault(path, Fault.status(502), part=3)
    api.upload(video_id, pipe_of(data), chunk_size=CHUNK)
    assert emulator.uploaded_sha256(video_id) == sha256(data)
    assert ranges(emulator, path) == ["part 1/*", "part 2/*", "part 2/*", "part 3/3", "part 3/3"]


def test_a_lost_answer_to_the_last_part_is_not_a_failure(
    api: VideosApi, emulator: Emulator, data: bytes
) -> None:
    """The last part was taken, then the connection dropped: sent again, the API says the
    source is already uploaded, which means the upload is complete."""
    video_id, path = new_video(api)
    emulator.add_fault(path, Fault.reset_after_body(), part=3)
    video = api.upload(video_id, data, chunk_size=CHUNK)
    assert video.video_id == video_id
    assert emulator.uploaded_sha256(video_id) == sha256(data)


@pytest.mark.parametrize("stream", [False, True], ids=["bytes", "stream"])
def test_resuming_a_single_part_whose_answer_was_lost_returns_the_video(
    api: VideosApi, emulator: Emulator, stream: bool
) -> None:
    """The only part was taken but its answer lost, and no retry was left: on resume the API
    says the source is already uploaded, which means this upload is complete."""
    small = os.urandom(1000)
    video_id, path = new_video(api)
    emulator.add_fault(path, Fault.reset_after_body())
    source = blocks_of(small) if stream else small
    with pytest.raises(UploadError) as raised:
        api.upload(video_id, source, part_retries=0)
    assert (raised.value.part, raised.value.acknowledged) == (1, 0)
    assert emulator.uploaded_sha256(video_id) == sha256(small)  # taken, though unanswered
    video = api.upload(video_id, source, resume=raised.value.resume)
    assert video.video_id == video_id
    assert ranges(emulator, path) == ["part 1/1", "part 1/1"]
    assert emulator.count(f"/videos/{video_id}") == 1  # the video, read back


def test_a_progressive_sessions_last_part_sent_again_after_a_lost_answer_is_the_video(
    api: VideosApi, emulator: Emulator
) -> None:
    video_id, path = new_video(api)
    session = api.create_upload_progressive_session(video_id, part_retries=0)
    emulator.add_fault(path, Fault.reset_after_body())
    with pytest.raises(UploadError, match="part 1 failed after 1 attempt"):
        session.upload_last_part(b"the whole video")
    video = session.upload_last_part(b"the whole video")  # the session stays on the part
    assert video.video_id == video_id
    assert emulator.uploaded_sha256(video_id) == sha256(b"the whole video")
    assert ranges(emulator, path) == ["part 1/1", "part 1/1"]


def test_a_resume_of_parts_never_taken_keeps_the_apis_already_uploaded(
    api: VideosApi, emulator: Emulator
) -> None:
    """A part refused with 503 (not processed) was not taken: if the API then says the source
    is already uploaded, another upload did it, and that is the API's error."""
    video_id, path = new_video(api)
    emulator.add_fault(path, Fault.status(503))
    with pytest.raises(UploadError) as raised:
        api.upload(video_id, b"ours", part_retries=0)
    api.upload(video_id, b"another upload's")
    with pytest.raises(video_api.BadRequestException, match="already uploaded"):
        api.upload(video_id, b"ours", resume=raised.value.resume)
    assert emulator.uploaded_sha256(video_id) == sha256(b"another upload's")


@pytest.mark.slow  # seconds long: the quick run leaves it out
def test_a_300_mib_file_arrives_whole_through_a_reset_and_a_503(
    api: VideosApi, emulator: Emulator, tmp_path: Path
) -> None:
    source = tmp_path / "big.mp4"
    digest = hashlib.sha256()
    with source.open("wb") as file:
        for _ in range(300):
            block = os.urandom(MiB)
            digest.update(block)
            file.write(block)
    video_id, path = new_video(api)
    emulator.add_fault(path, Fault.reset_mid_body(), part=3)
    emulator.add_fault(path, Fault.status(503), part=5)
    seen: List[Tuple[int, Optional[int]]] = []
    video = api.upload(
        video_id, str(source), progress=lambda done, total: seen.append((done, total))
    )
    assert video.video_id == video_id
    assert emulator.uploaded_sha256(video_id) == digest.hexdigest()
    assert emulator.uploaded_size(video_id) == 300 * MiB
    sent = ranges(emulator, path)
    assert (len(sent), sent.count("part 3/6"), sent.count("part 5/6")) == (8, 2, 2)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    assert seen[-1] == (300 * MiB, 300 * MiB)


# -- concurrency ------------------------------------------------------------------------------


def test_parts_go_concurrently_and_the_last_one_after_all_the_others(
    api: VideosApi, emulator: Emulator
) -> None:
    data = os.urandom(6 * CHUNK + 99)  # 7 parts
    video_id, path = new_video(api)
    emulator.add_fault(path, Fault.stall(1), part=1)  # answered late, but taken
    overtaken: List[List[int]] = []
    done = threading.Event()

    def watch() -> None:  # parts stored while part 1 is still held back
        while not done.is_set():
            parts = emulator.uploaded_parts(video_id)
            if 1 not in parts:
                overtaken.append(parts)
            time.sleep(0.005)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        api.upload(video_id, data, chunk_size=CHUNK, concurrency=4)
    finally:
        done.set()
        watcher.join()
    assert emulator.uploaded_sha256(video_id) == sha256(data)
    assert max(len(parts) for parts in overtaken) >= 3  # three others went while 1 was held
    sent = ranges(emulator, path)
    assert sent[-1] == "part 7/7" and sorted(sent) == sorted(f"part {n}/7" for n in range(1, 8))


def test_a_concurrent_upload_with_faults_arrives_whole(
    api: VideosApi, emulator: Emulator, tmp_path: Path
) -> None:
    data = os.urandom(8 * CHUNK + 1)
    source = tmp_path / "clip.mp4"
    source.write_bytes(data)
    video_id, path = new_video(api)
    emulator.add_fault(path, Fault.reset_mid_body(), part=2)
    emulator.add_fault(path, Fault.status(503), part=6)
    emulator.add_fault(path, Fault.reset_after_body(), part=4)
    with source.open("rb") as file:
        api.upload(video_id, file, chunk_size=CHUNK, concurrency=4)
    assert emulator.uploaded_sha256(video_id) == sha256(data)


# -- progressive sessions and delegated uploads ------------------------------------------------


def test_a_progressive_session_from_generators_arrives_whole(
    api: VideosApi, emulator: Emulator, data: bytes, tmp_path: Path
) -> None:
    video_id, path = new_video(api)
    session = api.create_upload_progressive_session(video_id)
    first, second, last = data[:CHUNK], data[CHUNK : 2 * CHUNK + 7], data[2 * CHUNK + 7 :]
    tail = tmp_path / "tail.part"
    tail.write_bytes(last)
    session.upload_part(blocks_of(first))
    session.uploadPart(pipe_of(second))  # api.video's client's name
    video = session.upload_last_part(str(tail))
    assert video.video_id == video_id
    assert emulator.uploaded_sha256(video_id) == sha256(data)
    assert ranges(emulator, path) == ["part 1/*", "part 2/*", "part 3/3"]
    with pytest.raises(video_api.ApiValueError, match="last part was sent already"):
        session.uploadLastPart(b"more")


def test_a_progressive_session_refuses_a_small_part_but_the_last(
    api: VideosApi, emulator: Emulator
) -> None:
    video_id, path = new_video(api)
    session = api.create_upload_progressive_session(video_id)
    with pytest.raises(video_api.ApiValueError, match="from 5242880 to"):
        session.upload_part(b"too small")
    assert emulator.count(path) == 0
    video = session.upload_last_part(b"small is fine at the end")
    assert emulator.uploaded_size(video_id) == len(b"small is fine at the end")
    assert video.video_id == video_id


def test_a_progressive_session_resends_a_failed_part(
    api: VideosApi, emulator: Emulator, data: bytes
) -> None:
    video_id, path = new_video(api)
    session = api.create_upload_progressive_session(video_id, part_retries=0)
    emulator.add_fault(path, Fault.status(503), part=1)
    with pytest.raises(UploadError, match="part 1 failed"):
        session.upload_part(data[:CHUNK])
    session.upload_part(data[:CHUNK])  # the session stays on part 1
    session.upload_last_part(data[CHUNK:])
    assert emulator.uploaded_sha256(video_id) == sha256(data)
    assert ranges(emulator, path) == ["part 1/*", "part 1/*", "part 2/2"]


def test_a_delegated_upload_needs_a_token_and_no_api_key(
    anonymous: VideosApi, emulator: Emulator, data: bytes
) -> None:
    token = emulator.create_upload_token()
    video = anonymous.upload_with_upload_token(token, data, chunk_size=CHUNK, concurrency=2)
    assert video.video_id is not None
    assert emulator.uploaded_sha256(video.video_id) == sha256(data)
    sent = [r for r in emulator.requests if r.path.startswith("/upload")]
    assert sent[0].headers["Content-Range"] == "part 1/3"
    assert all("Authorization" not in r.headers for r in sent)
    # The first part's answer names the video; the other parts say which it is.
    assert b'name="videoId"' not in sent[0].body
    assert all(f"\r\n\r\n{video.video_id}\r\n".encode() in r.body for r in sent[1:])


def test_a_delegated_progressive_session_learns_its_video(
    anonymous: VideosApi, emulator: Emulator, data: bytes
) -> None:
    token = emulator.create_upload_token()
    session = anonymous.create_upload_with_upload_token_progressive_session(token)
    first = session.upload_part(data[:CHUNK])
    assert session.video_id == first.video_id
    video = session.upload_last_part(io.BytesIO(data[CHUNK:]))
    assert video.video_id == first.video_id
    assert emulator.uploaded_sha256(first.video_id or "") == sha256(data)


def test_a_delegated_upload_to_an_existing_video(
    api: VideosApi, anonymous: VideosApi, emulator: Emulator, data: bytes
) -> None:
    video_id, _ = new_video(api)
    token = emulator.create_upload_token()
    video = anonymous.upload_with_upload_token(token, data, video_id=video_id, chunk_size=CHUNK)
    assert video.video_id == video_id
    assert emulator.uploaded_sha256(video_id) == sha256(data)


def test_an_expired_upload_token_is_the_apis_error(
    anonymous: VideosApi, emulator: Emulator, data: bytes
) -> None:
    token = emulator.create_upload_token()
    emulator.expire_upload_token(token)
    with pytest.raises(video_api.BadRequestException) as raised:
        anonymous.upload_with_upload_token(token, data, chunk_size=CHUNK)
    assert raised.value.problem is not None and raised.value.problem["name"] == "token"
    assert token not in str(raised.value)
    assert emulator.count("/upload") == 1


def test_a_failed_delegated_upload_does_not_show_its_token(
    anonymous: VideosApi, emulator: Emulator, data: bytes
) -> None:
    token = emulator.create_upload_token()
    emulator.add_fault("/upload", Fault.reset_before_body(), times=10, part=2)
    with pytest.raises(UploadError) as raised:
        anonymous.upload_with_upload_token(token, data, chunk_size=CHUNK, part_retries=1)
    assert isinstance(raised.value.__cause__, video_api.ApiConnectionError)
    assert token not in str(raised.value.__cause__)  # the transport hides it in the URL too
    assert token not in str(raised.value) and "/upload?token=***" in str(raised.value)


#: A failure of the first part of a delegated upload, and the videos it leaves in the account.
MAYBE_TAKEN = [
    ("answer lost", Fault.reset_after_body(), 1),  # taken: the video exists
    ("reset before the body", Fault.reset_before_body(), 0),  # not taken, but who can tell
    ("500", Fault.status(500), 0),
]


@pytest.mark.parametrize(
    ("fault", "videos"), [m[1:] for m in MAYBE_TAKEN], ids=[m[0] for m in MAYBE_TAKEN]
)
def test_the_part_that_creates_the_video_is_not_sent_again_once_it_may_have_been_taken(
    api: VideosApi,
    anonymous: VideosApi,
    emulator: Emulator,
    data: bytes,
    fault: Fault,
    videos: int,
) -> None:
    """Part 1 of an upload with a token and no video id creates the video: sent again, it
    would create another one (and leave the first one incomplete)."""
    token = emulator.create_upload_token()
    emulator.add_fault("/upload", fault, part=1)
    with pytest.raises(UploadError) as raised:
        anonymous.upload_with_upload_token(token, data, chunk_size=CHUNK)
    error = raised.value
    assert (error.part, error.acknowledged, error.resume) == (1, 0, None)
    message = str(error)
    assert message.startswith(
        "upload_with_upload_token: part 1 may have reached the API before it failed ("
    )
    assert message.endswith(
        "); it creates the video, so it was not sent again (that could create a second "
        "video). A video may have been created, its id unknown here: look for it among the "
        "account's videos (GET /videos) before uploading again"
    )
    assert token not in message
    assert emulator.count("/upload") == 1
    assert len(api.list().data) == videos


def test_the_part_that_creates_the_video_is_sent_again_when_it_cannot_have_been_taken(
    api: VideosApi, anonymous: VideosApi, emulator: Emulator, data: bytes
) -> None:
    """A 503 (not processed) and a refused connection are sent again; so is part 1 of an
    upload to a video named up front (it carries the video's id: no second video)."""
    token = emulator.create_upload_token()
    emulator.add_fault("/upload", Fault.status(503), part=1)
    video = anonymous.upload_with_upload_token(token, data, chunk_size=CHUNK)
    assert emulator.uploaded_sha256(video.video_id or "") == sha256(data)
    sent = [r.headers["Content-Range"] for r in emulator.requests if r.path.startswith("/upload")]
    assert sent == ["part 1/3", "part 1/3", "part 2/3", "part 3/3"]
    video_id, _ = new_video(api)
    emulator.add_fault("/upload", Fault.reset_after_body(), part=1)
    video = anonymous.upload_with_upload_token(token, data, video_id=video_id, chunk_size=CHUNK)
    assert video.video_id == video_id and emulator.uploaded_sha256(video_id) == sha256(data)
    assert len(api.list().data) == 2
    with socket.socket() as closed:  # bound, never listening: every connection is refused
        closed.bind(("127.0.0.1", 0))
        refused = video_api.Configuration(host=f"http://127.0.0.1:{closed.getsockname()[1]}")
        with video_api.ApiClient(refused) as client, pytest.raises(UploadError) as raised:
            VideosApi(client).upload_with_upload_token(token, data, part_retries=1)
    assert "part 1 failed after 2 attempts: POST /upload?token=***: " in str(raised.value)
    assert isinstance(raised.value.__cause__, video_api.ApiConnectionError)
    assert "Connection refused" in str(raised.value) and raised.value.resume is not None


# -- a final failure, and resuming -------------------------------------------------------------


def test_a_final_failure_names_the_part_and_resumes_from_there(
    api: VideosApi, emulator: Emulator, data: bytes, tmp_path: Path
) -> None:
    source = tmp_path / "clip.mp4"
    source.write_bytes(data)
    video_id, path = new_video(api)
    emulator.add_fault(path, Fault.status(503), times=2, part=2)
    with pytest.raises(UploadError) as raised:
        api.upload(video_id, str(source), chunk_size=CHUNK, part_retries=1)
    error = raised.value
    assert (error.part, error.acknowledged, error.status) == (2, CHUNK, 503)
    assert "part 2 failed after 2 attempts" in str(error)
    assert f"{CHUNK} bytes acknowledged (parts 1)" in str(error)
    assert isinstance(error, video_api.ApiException)
    assert emulator.uploaded_sha256(video_id) is None
    seen: List[Tuple[int, Optional[int]]] = []
    api.upload(video_id, str(source), resume=error.resume, progress=lambda *a: seen.append(a))
    assert emulator.uploaded_sha256(video_id) == sha256(data)
    assert ranges(emulator, path) == ["part 1/3", "part 2/3", "part 2/3", "part 2/3", "part 3/3"]
    assert seen[0][0] > CHUNK and seen[-1] == (SIZE, SIZE)
    with pytest.raises(video_api.ApiValueError, match="upload that is complete"):
        api.upload(video_id, str(source), resume=error.resume)


def test_a_concurrent_upload_resumes_only_what_is_missing(
    api: VideosApi, emulator: Emulator
) -> None:
    data = os.urandom(5 * CHUNK + 1)
    video_id, path = new_video(api)
    emulator.add_fault(path, Fault.status(502), times=3, part=3)
    with pytest.raises(UploadError) as raised:
        api.upload(video_id, data, chunk_size=CHUNK, concurrency=3, part_retries=2)
    assert raised.value.part == 3
    assert raised.value.acknowledged == 4 * CHUNK  # 1, 2, 4, 5: all but 3 and the last
    api.upload(video_id, data, resume=raised.value.resume, concurrency=3)
    assert emulator.uploaded_sha256(video_id) == sha256(data)
    assert ranges(emulator, path).count("part 1/6") == 1


def test_a_stream_resumes_with_the_chunk_it_kept(
    api: VideosApi, emulator: Emulator, data: bytes
) -> None:
    video_id, path = new_video(api)
    emulator.add_fault(path, Fault.status(504), times=2, part=2)
    stream = blocks_of(data)
    with pytest.raises(UploadError) as raised:
        api.upload(video_id, stream, chunk_size=CHUNK, part_retries=1)
    assert (raised.value.part, raised.value.acknowledged) == (2, CHUNK)
    with pytest.raises(video_api.ApiValueError, match="same stream"):
        api.upload(video_id, blocks_of(data), resume=raised.value.resume)
    api.upload(video_id, stream, resume=raised.value.resume)
    assert emulator.uploaded_sha256(video_id) == sha256(data)


def test_resume_is_checked_against_the_upload(
    api: VideosApi, emulator: Emulator, data: bytes
) -> None:
    video_id, path = new_video(api)
    other_id, other_path = new_video(api)
    emulator.add_fault(path, Fault.status(503), times=2, part=2)
    with pytest.raises(UploadError) as raised:
        api.upload(video_id, data, chunk_size=CHUNK, part_retries=1)
    resume = raised.value.resume
    emulator.clear()
    with pytest.raises(video_api.ApiValueError, match="another upload"):
        api.upload(other_id, data, resume=resume)
    with pytest.raises(video_api.ApiValueError, match="chunk size it started with"):
        api.upload(video_id, data, resume=resume, chunk_size=6 * MiB)
    with pytest.raises(video_api.ApiValueError, match=f"source of {SIZE} bytes"):
        api.upload(video_id, data[:-1], resume=resume)
    with pytest.raises(video_api.ApiValueError, match="for a file, not a stream"):
        api.upload(video_id, blocks_of(data), resume=resume)
    with pytest.raises(video_api.ApiTypeError, match="resume expects"):
        api.upload(video_id, data, resume="part 2")  # type: ignore[arg-type]
    assert emulator.count(path) == emulator.count(other_path) == 0


def test_a_client_error_after_some_parts_is_an_upload_error(
    api: VideosApi, emulator: Emulator, data: bytes
) -> None:
    video_id, path = new_video(api)
    emulator.add_fault(path, Fault.status(400), part=2)
    with pytest.raises(UploadError) as raised:
        api.upload(video_id, data, chunk_size=CHUNK)
    assert (raised.value.status, raised.value.part, raised.value.acknowledged) == (400, 2, CHUNK)
    assert raised.value.retries == 0 and ranges(emulator, path) == ["part 1/3", "part 2/3"]


def test_a_source_that_grows_during_the_upload_is_an_upload_error(
    api: VideosApi, emulator: Emulator, data: bytes, tmp_path: Path
) -> None:
    source = tmp_path / "recording.mp4"
    source.write_bytes(data)
    video_id, path = new_video(api)

    def grow(done: int, total: Optional[int]) -> None:
        if done > CHUNK + MiB and source.stat().st_size == SIZE:
            with source.open("ab") as file:
                file.write(b"more frames")

    with pytest.raises(UploadError, match="changed during the upload") as raised:
        api.upload(video_id, str(source), chunk_size=CHUNK, progress=grow)
    assert raised.value.acknowledged <= CHUNK
    assert raised.value.part == 2 and "the video is not complete" in str(raised.value)
    assert emulator.uploaded_sha256(video_id) is None  # not a corrupt video: no video
    assert "part 3/3" not in ranges(emulator, path)


def test_a_source_that_shrinks_during_the_upload_is_an_upload_error(
    api: VideosApi, emulator: Emulator, data: bytes, tmp_path: Path
) -> None:
    source = tmp_path / "clip.mp4"
    source.write_bytes(data)
    video_id, _ = new_video(api)

    def shrink(done: int, total: Optional[int]) -> None:
        if done > MiB and source.stat().st_size == SIZE:
            os.truncate(source, 2 * MiB)

    with pytest.raises(UploadError):
        api.upload(video_id, str(source), chunk_size=CHUNK, progress=shrink)
    assert emulator.uploaded_sha256(video_id) is None


@pytest.mark.parametrize("seekable", [True, False], ids=["file", "pipe"])
def test_a_source_that_cannot_be_read_is_an_upload_error_not_sent_again(
    api: VideosApi, emulator: Emulator, data: bytes, seekable: bool
) -> None:
    """A read error (EIO) is the source's, not the network's: said as such, not retried; once
    the source reads again, a resume sends the rest, whole."""
    video_id, _ = new_video(api)
    disk = FailingDisk(data, CHUNK + 2 * MiB, seekable)
    with pytest.raises(UploadError) as raised:
        api.upload(video_id, disk, chunk_size=CHUNK)
    error = raised.value
    assert str(error) == (
        "upload: cannot read 'file': Input/output error, so part 2 was not sent whole; "
        f"{CHUNK} bytes were acknowledged (parts 1), the video is not complete"
    )
    assert (error.part, error.acknowledged, disk.failures) == (2, CHUNK, 1)
    assert isinstance(error.__cause__, video_api.ApiValueError)
    assert emulator.uploaded_parts(video_id) == [1]
    disk.fail_at = None
    api.upload(video_id, disk, resume=error.resume)
    assert emulator.uploaded_sha256(video_id) == sha256(data)


def test_a_progressive_part_that_cannot_be_read_is_refused_and_sent_again(
    api: VideosApi, emulator: Emulator, data: bytes
) -> None:
    video_id, path = new_video(api)
    session = api.create_upload_progressive_session(video_id)
    with pytest.raises(video_api.ApiValueError) as raised:
        session.upload_part(FailingDisk(data[:CHUNK], MiB, seekable=False))
    assert str(raised.value) == "upload (part 1): file: cannot read 'file': Input/output error"
    assert emulator.count(path) == 0
    session.upload_part(data[:CHUNK])
    session.upload_last_part(data[CHUNK:])
    assert emulator.uploaded_sha256(video_id) == sha256(data)


# -- progress ---------------------------------------------------------------------------------


def test_progress_moves_with_the_bytes_monotonic_to_the_total(
    api: VideosApi, emulator: Emulator, data: bytes
) -> None:
    video_id, path = new_video(api)
    emulator.add_fault(path, Fault.reset_mid_body(), part=2)
    seen: List[Tuple[int, Optional[int]]] = []
    vendor_style: List[Tuple[int, Optional[int]]] = []
    api.upload(
        video_id,
        data,
        chunk_size=CHUNK,
        concurrency=2,
        progress=lambda done, total: seen.append((done, total)),
        _progress_listener=lambda done, total: vendor_style.append((done, total)),
    )
    done = [d for d, _ in seen]
    assert done == sorted(done) and len(set(done)) == len(done)
    assert len(seen) > 3  # as bytes move, not once per part
    assert {total for _, total in seen} == {SIZE}
    assert seen[-1] == (SIZE, SIZE) and SIZE not in done[:-1]
    assert vendor_style == seen


def test_progress_of_a_stream_learns_the_total_at_the_end(
    api: VideosApi, emulator: Emulator, data: bytes
) -> None:
    video_id, _ = new_video(api)
    seen: List[Tuple[int, Optional[int]]] = []
    api.upload(video_id, pipe_of(data), chunk_size=CHUNK, progress=lambda *a: seen.append(a))
    assert {total for _, total in seen[:-1]} == {None}
    assert seen[-1] == (SIZE, SIZE)


def test_with_http_info_gives_the_last_parts_response(
    api: VideosApi, emulator: Emulator, data: bytes
) -> None:
    video_id, _ = new_video(api)
    response = video_api.with_http_info(api.upload, video_id, data, chunk_size=CHUNK)
    assert response.status == 201 and response.body.video_id == video_id


# -- bounded memory ---------------------------------------------------------------------------


def test_a_file_is_streamed_in_bounded_memory(
    api: VideosApi, emulator: Emulator, tmp_path: Path
) -> None:
    source = tmp_path / "big.mp4"
    with source.open("wb") as file:
        for _ in range(40):
            file.write(os.urandom(MiB))
    video_id, _ = new_video(api)
    tracemalloc.start()
    try:
        api.upload(video_id, str(source), chunk_size=32 * MiB, concurrency=2)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # The client holds a block per part on the way, the emulator a block per request it
    # reads (and the first MiB of each body, as it does for any request): no chunk, no file.
    assert peak < 10 * MiB, peak
    assert emulator.uploaded_size(video_id) == 40 * MiB


def test_a_stream_keeps_one_chunk(api: VideosApi, emulator: Emulator) -> None:
    data = os.urandom(24 * MiB)
    video_id, _ = new_video(api)
    tracemalloc.start()
    try:
        api.upload(video_id, ReadOnly(data), chunk_size=CHUNK)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < CHUNK + 6 * MiB, peak  # one chunk, the block read ahead, the emulator's
    assert emulator.uploaded_sha256(video_id) == sha256(data)


@pytest.mark.parametrize("concurrency", [1, 2])
def test_a_huge_file_is_sent_without_a_list_of_its_parts(
    api: VideosApi, emulator: Emulator, concurrency: int
) -> None:
    """4 TiB in 5 MiB parts: 838,861 of them, taken one at a time (the API refuses the first
    ones here, so that nothing more is sent)."""
    video_id, path = new_video(api)
    emulator.add_fault(path, Fault.status(404), times=2)
    tracemalloc.start()
    try:
        with pytest.raises(video_api.NotFoundException):
            api.upload(video_id, Huge(2**42), chunk_size=CHUNK, concurrency=concurrency)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 10 * MiB, peak


@pytest.mark.parametrize("size", [MAX_SIZE + 1, 2**62])
def test_a_file_larger_than_the_api_takes_is_refused_before_anything_is_sent(
    api: VideosApi, emulator: Emulator, size: int
) -> None:
    video_id, path = new_video(api)
    emulator.add_fault(path, Fault.status(404))  # were it sent, it would stop there
    with pytest.raises(video_api.ApiValueError) as raised:
        api.upload(video_id, Huge(size), concurrency=2)
    assert str(raised.value) == (
        f"upload: file: the source has {size} bytes, more than the API takes (9007199254740992)"
    )
    assert MAX_SIZE == 2**53 and emulator.count(path) == 0


# -- what is refused, before anything is sent ------------------------------------------------


def file_with(tmp_path: Path, content: bytes) -> Path:
    path = tmp_path / "clip.mp4"
    path.write_bytes(content)
    return path


def closed_file(tmp_path: Path) -> Any:
    file = file_with(tmp_path, b"1234").open("rb")
    file.close()
    return file


#: name -> (the source, made in a temporary directory; keywords; the error; its message)
BAD_INPUTS: Dict[str, Tuple[Callable[[Path], Any], Dict[str, Any], type, str]] = {
    "missing file": (lambda t: str(t / "nope.mp4"), {}, video_api.ApiValueError, "no file at"),
    "directory": (lambda t: str(t), {}, video_api.ApiValueError, "is a directory"),
    "zero bytes": (lambda t: file_with(t, b""), {}, video_api.ApiValueError, "is empty"),
    "empty bytes": (lambda t: b"", {}, video_api.ApiValueError, "empty"),
    "empty stream": (lambda t: iter([b"", b""]), {}, video_api.ApiValueError, "stream is empty"),
    "file at its end": (
        lambda t: _at_end(),
        {},
        video_api.ApiValueError,
        "no bytes from its current position",
    ),
    "closed file": (closed_file, {}, video_api.ApiValueError, "the file is closed"),
    "text file": (
        lambda t: file_with(t, b"1234").open("r"),
        {},
        video_api.ApiValueError,
        "binary mode",
    ),
    "text buffer": (lambda t: io.StringIO("abc"), {}, video_api.ApiValueError, "binary mode"),
    "not a file": (lambda t: 42, {}, video_api.ApiTypeError, "expects a path, bytes"),
    "str items": (lambda t: iter(["abc"]), {}, video_api.ApiTypeError, "must yield bytes"),
    "non-contiguous memoryview": (
        lambda t: memoryview(b"abcd" * 10)[::2],
        {},
        video_api.ApiTypeError,
        r"^upload: file: the source must be bytes, got a non-contiguous memoryview; "
        r"pass bytes\(source\)$",
    ),
    "non-contiguous items": (
        lambda t: iter([b"ab", memoryview(b"abcd" * 10)[::2]]),
        {},
        video_api.ApiTypeError,
        "^upload: file: an iterable source must yield bytes, got a non-contiguous memoryview$",
    ),
    "read() gives an int": (
        lambda t: ReadGives(5),
        {},
        video_api.ApiTypeError,
        r"^upload: file: read\(\) must return bytes, got int$",
    ),
    "small chunks": (
        lambda t: b"x",
        {"chunk_size": MIN_CHUNK_SIZE - 1},
        video_api.ApiValueError,
        "chunk_size must be between 5242880 and 134217728",
    ),
    "big chunks": (
        lambda t: b"x",
        {"chunk_size": MAX_CHUNK_SIZE + 1},
        video_api.ApiValueError,
        "chunk_size must be between",
    ),
    "float chunks": (lambda t: b"x", {"chunk_size": 6e6}, video_api.ApiTypeError, "an int"),
    "no concurrency": (lambda t: b"x", {"concurrency": 0}, video_api.ApiValueError, "concurrency"),
    "concurrency beyond the pool": (
        lambda t: b"x",
        {"concurrency": 17},
        video_api.ApiValueError,
        "concurrency must be between 1 and 16",
    ),
    "negative retries": (
        lambda t: b"x",
        {"part_retries": -1},
        video_api.ApiValueError,
        "part_retries",
    ),
    "bad timeout": (
        lambda t: b"x",
        {"_request_timeout": -1},
        video_api.ApiValueError,
        "timeout must",
    ),
    "unknown option": (lambda t: b"x", {"_nope": 1}, video_api.ApiTypeError, "unexpected keyword"),
    "progress": (lambda t: b"x", {"progress": 3}, video_api.ApiTypeError, "must be callable"),
}


class ReadGives:
    """A file-like object whose read() gives ``value``, whatever it is."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def read(self, size: int = -1) -> Any:
        return self.value


def _at_end() -> io.BytesIO:
    file = io.BytesIO(b"read already")
    file.read()
    return file


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_refused_before_anything_is_sent(
    api: VideosApi, emulator: Emulator, tmp_path: Path, case: str
) -> None:
    video_id, path = new_video(api)
    make, keywords, error, message = BAD_INPUTS[case]
    source = make(tmp_path)
    try:
        with pytest.raises(error, match=message):
            api.upload(video_id, source, **keywords)
    finally:
        if hasattr(source, "close"):
            source.close()
    assert emulator.count(path) == 0


def test_a_raw_response_is_refused_as_by_every_other_method(
    api: VideosApi, anonymous: VideosApi, emulator: Emulator
) -> None:
    """An upload's answer is read (it names the video): ``_preload_content=False`` is refused,
    before anything is sent, with the message of every other method."""
    raw = (
        "_preload_content=False is not supported; for the raw response use "
        "client.call_api(path, method, stream=True)"
    )
    video_id, path = new_video(api)
    session = api.create_upload_progressive_session(video_id)
    token = emulator.create_upload_token()
    calls: List[Tuple[str, Callable[[], Any]]] = [
        ("get", lambda: api.get(video_id, _preload_content=False)),
        ("upload", lambda: api.upload(video_id, b"x", _preload_content=False)),
        (
            "upload_with_upload_token",
            lambda: anonymous.upload_with_upload_token(token, b"x", _preload_content=False),
        ),
        ("upload (part 1)", lambda: session.upload_part(b"x" * CHUNK, _preload_content=False)),
        ("upload (last part 1)", lambda: session.upload_last_part(b"x", _preload_content=False)),
    ]
    for where, call in calls:
        with pytest.raises(video_api.ApiValueError) as raised:
            call()
        assert str(raised.value) == f"{where}: {raw}"
    assert emulator.count(path) == emulator.count("/upload") == 0
    assert session.current_part == 1


def test_an_unknown_video_is_the_apis_404(api: VideosApi, emulator: Emulator, data: bytes) -> None:
    with pytest.raises(video_api.NotFoundException) as raised:
        api.upload("vi0000000000000000000000", data, chunk_size=CHUNK, concurrency=2)
    assert raised.value.problem is not None and raised.value.problem["name"] == "videoId"


def test_a_second_upload_to_a_video_is_the_apis_error(api: VideosApi, emulator: Emulator) -> None:
    video_id, _ = new_video(api)
    api.upload(video_id, b"first")
    with pytest.raises(video_api.BadRequestException, match="already uploaded"):
        api.upload(video_id, b"second")


def test_an_upload_needs_credentials_and_sends_nothing_without(
    anonymous: VideosApi, emulator: Emulator
) -> None:
    with pytest.raises(video_api.ApiValueError, match="needs credentials"):
        anonymous.upload("vi0000000000000000000000", b"data")
    assert emulator.requests == []


def test_the_status_moves_from_uploaded_to_playable(
    api: VideosApi, emulator: Emulator, data: bytes
) -> None:
    video_id, _ = new_video(api)
    assert api.get_status(video_id).ingest is None
    emulator.encode_immediately = False
    session = api.create_upload_progressive_session(video_id)
    session.upload_part(data[:CHUNK])
    status = api.get_status(video_id)
    assert status.ingest is not None and status.ingest.status == "uploading"
    assert status.ingest.received_parts is not None and status.ingest.received_parts.parts == (1,)
    session.upload_last_part(data[CHUNK:])
    status = api.get_status(video_id)
    assert status.ingest is not None and status.ingest.status == "uploaded"
    assert status.ingest.filesize == SIZE
    assert status.encoding is not None and status.encoding.playable is False
    emulator.finish_encoding(video_id)
    status = api.get_status(video_id)
    assert status.encoding is not None and status.encoding.playable is True


@pytest.mark.slow
def test_the_upload_benchmark_runs_end_to_end(tmp_path: Path) -> None:
    """bench/upload.py on a small file: every contender's upload is checked by the sink."""
    root = Path(__file__).resolve().parent.parent
    out = tmp_path / "upload.json"
    small = ["--size-mib", "12", "--chunk-mib", "5", "--rounds", "1"]
    result = subprocess.run(
        [sys.executable, "bench/upload.py", *small, "--json", str(out)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "vs urllib3" in result.stdout
    runs = json.loads(out.read_text())
    assert {"urllib3", "sdk", "sdk x4", "sdk pipe"} <= set(runs)
    assert all(run["seconds"] > 0 and run["peak_above_kib"] > 0 for r in runs.values() for run in r)
