"""Video uploads: the methods of the spec's ``x-client-chunk-upload`` operations.

The generated ``VideosApi`` takes them from :class:`ChunkedUploads`, because what they do
is more than one request. A source larger than the chunk size goes in parts, each a
multipart request with ``Content-Range: part N/M`` (api.video's own client's form); a
stream whose size is unknown goes in the progressive form, ``part N/*``, the last one
``part N/N``. One part is one request (``part 1/1``).

What the parts promise:

- Bounded memory. A file (a path or a seekable file object) is streamed from the file
  into each request in blocks of :data:`BLOCK` bytes; a resent part is read again from the
  file. A stream that cannot seek (a pipe, a socket, a generator) keeps one chunk: the one
  it may have to send again.
- A part that fails on a connection error, a timeout or a 5xx is sent again, the same
  part number with the same bytes (which api.video takes as the same part), up to
  ``part_retries`` times with backoff; 429 is waited out as the configuration's
  ``retries`` allow, honouring ``Retry-After``. The last part goes once every other part
  is acknowledged.
- A part that finally fails raises :class:`UploadError`, which names the part and the bytes
  acknowledged, and carries ``resume``: ``upload(video_id, same_file, resume=error.resume)``
  sends only what is missing.
"""

from __future__ import annotations

import io
import logging
import math
import mimetypes
import os
import stat
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import (
    IO,
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Union,
    cast,
)
from urllib.parse import quote, urlencode

from .api_client import ACCEPT_JSON, Request, _segment
from .configuration import check_timeout
from .exceptions import (
    ApiConnectionError,
    ApiException,
    ApiResponseError,
    ApiTypeError,
    ApiValueError,
)
from .paths.upload import post as _upload_with_upload_token
from .paths.videos_video_id_source import post as _upload
from .rest import MAX_RETRY_WAIT, backoff, discard, retry_after

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .api_client import ApiClient, CallOptions
    from .model.video import Video
    from .operation import ApiResponse, Operation

    #: What ``upload`` takes: a path, bytes, a binary file object (seekable or not), or an
    #: iterable of bytes (a generator).
    UploadSource = Union[
        str,
        "os.PathLike[str]",
        bytes,
        bytearray,
        memoryview,
        IO[bytes],
        Iterable[bytes],
    ]
    #: ``progress(uploaded_bytes, total_bytes)``; the total is None while a stream's is unknown.
    Progress = Callable[[int, Optional[int]], object]

logger = logging.getLogger("video_api")

MiB = 1024 * 1024
#: The size of the parts ``upload`` sends, unless told otherwise (api.video's client's).
DEFAULT_CHUNK_SIZE = 50 * MiB
#: The smallest part api.video takes, except for the last one.
MIN_CHUNK_SIZE = 5 * MiB
#: The largest part.
MAX_CHUNK_SIZE = 128 * MiB
#: Bytes read from the source and handed to the connection at a time.
BLOCK = 1 * MiB
_OPTIONS = frozenset({"_request_timeout", "_headers", "_return_http_data_only", "_preload_content"})
_ALREADY_UPLOADED = "video-source-already-uploaded"


class UploadError(ApiException):
    """A part of an upload finally failed (or the source changed while it was sent).

    ``part`` is the part's number, ``acknowledged`` the bytes api.video had taken, and
    ``resume`` an opaque object: ``upload(video_id, same_file, resume=error.resume)`` (or
    ``upload_with_upload_token``) sends only what is missing, in this process. The cause is
    the exception's ``__cause__``; its status, headers and parsed problem are copied here.
    """

    def __init__(
        self,
        message: str,
        *,
        part: Optional[int],
        acknowledged: int,
        resume: Optional[UploadResume],
        cause: Optional[BaseException] = None,
    ) -> None:
        self.part = part
        self.acknowledged = acknowledged
        self.resume = resume
        self._text = message
        if isinstance(cause, ApiException):
            super().__init__(
                cause.status,
                cause.reason,
                cause.api_response,
                headers=cause.headers,
                body=cause.body,
                detail=cause.detail,
                retries=cause.retries,
            )
        else:
            super().__init__(detail=str(cause) if cause is not None else None)

    def _message(self) -> str:
        return self._text


class UploadResume:
    """Where a failed upload stopped; pass it back as ``resume=``. Opaque: what it holds may
    change. For a stream it holds the chunk that was not acknowledged."""

    __slots__ = (
        "_acked",
        "_chunk_size",
        "_done",
        "_next_part",
        "_pending",
        "_size",
        "_source",
        "_stream",
        "_target",
        "_video_id",
    )

    def __init__(self, target: Tuple[str, str], chunk_size: int, size: Optional[int]) -> None:
        self._target = target
        self._chunk_size = chunk_size
        self._size = size  # None for a stream
        self._acked: Dict[int, int] = {}  # part number -> bytes
        self._video_id: Optional[str] = None  # learnt from the first part of a token upload
        self._stream: Optional[_Stream] = None
        self._source: Any = None  # the stream object the user gave
        self._pending: Optional[_Chunk] = None  # a stream's chunk not acknowledged
        self._next_part = 1
        self._done = False

    def __repr__(self) -> str:
        done = sum(self._acked.values())
        return (
            f"<UploadResume {len(self._acked)} parts, {done} bytes acknowledged"
            f"{'' if self._size is None else f' of {self._size}'}>"
        )


# -- sources ---------------------------------------------------------------------------------


class _SourceChanged(Exception):
    """The file's size or modification time changed while it was being sent."""


class _Cancelled(Exception):
    """The upload was interrupted (Ctrl-C in the calling thread): stop sending."""


class _File:
    """A seekable source of known size: reads a range into a buffer, from any thread."""

    def __init__(self, name: str, size: int) -> None:
        self.name = name
        self.size = size

    def read_into(self, offset: int, view: memoryview) -> int:
        raise NotImplementedError

    def check(self) -> None:
        """Raise _SourceChanged when the file is no longer what it was at the start."""

    def finish(self, completed: bool) -> None:
        """Release what was opened, or put the caller's file where it is expected to be."""


class _DescriptorFile(_File):
    """A regular file read with ``pread`` at absolute offsets: no shared position, so parts
    read in parallel; also when the caller's file object is one."""

    def __init__(self, name: str, fd: int, start: int, owned: Optional[IO[bytes]]) -> None:
        info = os.fstat(fd)
        super().__init__(name, info.st_size - start)
        self._fd, self._start, self._owned = fd, start, owned
        self._stamp = (info.st_size, info.st_mtime_ns)
        self._lock = threading.Lock()  # only where os.pread is missing (Windows)

    def read_into(self, offset: int, view: memoryview) -> int:
        position = self._start + offset
        if hasattr(os, "preadv"):
            return os.preadv(self._fd, [view], position)
        if hasattr(os, "pread"):
            data = os.pread(self._fd, len(view), position)
        else:  # Windows: no pread
            with self._lock:
                os.lseek(self._fd, position, os.SEEK_SET)
                data = os.read(self._fd, len(view))
        view[: len(data)] = data
        return len(data)

    def check(self) -> None:
        info = os.fstat(self._fd)
        if (info.st_size, info.st_mtime_ns) != self._stamp:
            was, now = self._stamp[0] - self._start, info.st_size - self._start
            change = f"its size went from {was} to {now} bytes" if was != now else "it was written"
            raise _SourceChanged(f"{self.name!r} changed during the upload: {change}")

    def finish(self, completed: bool) -> None:
        if self._owned is not None:
            self._owned.close()


class _ObjectFile(_File):
    """A seekable file object without a usable descriptor (``BytesIO``...): seek and read,
    one thread at a time. Its position is left at its start on failure, at its end on success."""

    def __init__(self, name: str, file: IO[bytes], start: int, end: int) -> None:
        super().__init__(name, end - start)
        self._file, self._start = file, start
        self._lock = threading.Lock()
        self._readinto = getattr(file, "readinto", None)

    def read_into(self, offset: int, view: memoryview) -> int:
        with self._lock:
            self._file.seek(self._start + offset)
            if self._readinto is not None:
                return int(self._readinto(view) or 0)
            data = self._file.read(len(view))
            view[: len(data)] = data
            return len(data)

    def check(self) -> None:
        with self._lock:
            now = self._file.seek(0, os.SEEK_END) - self._start
        if now != self.size:
            raise _SourceChanged(
                f"{self.name!r} changed during the upload: its size went from "
                f"{self.size} to {now} bytes"
            )

    def finish(self, completed: bool) -> None:
        with self._lock:
            self._file.seek(self._start + (self.size if completed else 0))


class _Bytes(_File):
    """Bytes in memory: parts are views on them, nothing is copied."""

    def __init__(self, data: memoryview) -> None:
        super().__init__("file", len(data))
        self.data = data

    def read_into(self, offset: int, view: memoryview) -> int:
        piece = self.data[offset : offset + len(view)]
        view[: len(piece)] = piece
        return len(piece)


class _Chunk:
    """One part of a stream, held until acknowledged: blocks as they were read."""

    __slots__ = ("blocks", "last", "size")

    def __init__(self, blocks: List[memoryview], size: int, last: bool) -> None:
        self.blocks, self.size, self.last = blocks, size, last


class _Stream:
    """A source read once, front to back: a pipe, a socket file, a generator."""

    #: Read past a full chunk to learn whether the source ends with it.
    PROBE = 64 * 1024

    def __init__(self, name: str, read: Callable[[int], Optional[memoryview]]) -> None:
        self.name = name
        self._read = read  # up to that many bytes (a hint), empty when none yet, None at the end
        self._ahead: Optional[memoryview] = None

    def next_chunk(self, limit: int) -> _Chunk:
        """Up to ``limit`` bytes, and whether the source ends with them."""
        blocks: List[memoryview] = []
        size = 0
        while size < limit:
            block = self._take(min(limit - size, BLOCK))
            if block is None:
                return _Chunk(blocks, size, True)
            room = limit - size
            if len(block) > room:
                block, self._ahead = block[:room], block[room:]
            blocks.append(block)
            size += len(block)
        self._ahead = self._take(self.PROBE)
        return _Chunk(blocks, size, self._ahead is None)

    def _take(self, size: int) -> Optional[memoryview]:
        if self._ahead is not None:
            block, self._ahead = self._ahead, None
            return block
        while True:
            read = self._read(size)
            if read is None or len(read):
                return read


def _file_reader(file: Any, name: str) -> Callable[[int], Optional[memoryview]]:
    read = file.read

    def next_block(size: int) -> Optional[memoryview]:
        data = read(size)
        if data is None:  # a non-blocking stream with nothing yet: wait for it
            time.sleep(0.01)
            return memoryview(b"")
        if isinstance(data, str):
            raise ApiValueError(f"{name}: open the file in binary mode ('rb'), not text mode")
        return memoryview(data).cast("B") if data else None

    return next_block


def _iterable_reader(items: Iterator[Any], where: str) -> Callable[[int], Optional[memoryview]]:
    end = object()

    def next_block(size: int) -> Optional[memoryview]:
        item = next(items, end)
        if item is end:
            return None
        if not isinstance(item, (bytes, bytearray, memoryview)):
            raise ApiTypeError(
                f"{where}: an iterable source must yield bytes, got {type(item).__name__}"
            )
        return memoryview(item).cast("B")

    return next_block


def _range_blocks(source: _File, offset: int, length: int) -> Callable[[], Iterator[memoryview]]:
    """The blocks of ``length`` bytes of ``source`` from ``offset``, read anew at each call: a
    view on bytes in memory, or a buffer of one block that each read from the file fills."""
    end = offset + length
    if isinstance(source, _Bytes):
        data = source.data

        def views() -> Iterator[memoryview]:
            for start in range(offset, end, BLOCK):
                yield data[start : min(start + BLOCK, end)]

        return views

    def reads() -> Iterator[memoryview]:
        view = memoryview(bytearray(min(BLOCK, length)))
        position = offset
        while position < end:
            read = source.read_into(position, view[: min(BLOCK, end - position)])
            if read <= 0:
                return  # the file is shorter than it was: the body sees the bytes missing
            yield view[:read]
            position += read

    return reads


def _chunk_blocks(blocks: List[memoryview]) -> Callable[[], Iterator[memoryview]]:
    """A stream's chunk, as it was read, in blocks of at most BLOCK bytes."""

    def each() -> Iterator[memoryview]:
        for block in blocks:
            for start in range(0, len(block), BLOCK):
                yield block[start : start + BLOCK]

    return each


def _open(file: Any, where: str) -> Union[_File, _Stream]:
    """The source behind ``file``, refusing what cannot be uploaded before anything is sent."""
    if isinstance(file, (bytes, bytearray, memoryview)):
        data = memoryview(file).cast("B")
        if not len(data):
            raise ApiValueError(f"{where}: the bytes to upload are empty")
        return _Bytes(data)
    if isinstance(file, (str, os.PathLike)):
        path = os.fspath(file)
        shown = os.fsdecode(path)
        if os.path.isdir(path):
            raise ApiValueError(f"{where}: {shown!r} is a directory, not a file")
        if not os.path.exists(path):
            raise ApiValueError(f"{where}: no file at {shown!r}")
        try:
            opened = open(path, "rb")  # noqa: SIM115 (closed by the source)
        except OSError as error:
            raise ApiValueError(f"{where}: cannot open {shown!r}: {error.strerror}") from None
        name = os.path.basename(shown)
        if not stat.S_ISREG(
            os.fstat(opened.fileno()).st_mode
        ):  # a named pipe, a device: read it once, as a stream
            return _Stream(name, _file_reader(opened, where))
        source = _DescriptorFile(name, opened.fileno(), 0, opened)
        if source.size == 0:
            opened.close()
            raise ApiValueError(f"{where}: {shown!r} is empty")
        return source
    if hasattr(file, "read"):
        if getattr(file, "closed", False):
            raise ApiValueError(f"{where}: the file is closed")
        mode = getattr(file, "mode", "b")
        if (
            isinstance(file, io.TextIOBase)
            or (isinstance(mode, str) and "b" not in mode)
            or isinstance(getattr(file, "encoding", None), str)
        ):
            raise ApiValueError(f"{where}: open the file in binary mode ('rb'), not text mode")
        raw_name = getattr(file, "name", None)
        name = os.path.basename(raw_name) if isinstance(raw_name, str) else "file"
        seekable = getattr(file, "seekable", None)
        try:
            if seekable is None or not seekable():
                raise OSError("not seekable")
            start = file.tell()
            end = file.seek(0, os.SEEK_END)
            file.seek(start)
        except (AttributeError, OSError, ValueError):  # a pipe or a socket: read it once
            return _Stream(name, _file_reader(file, where))
        if end - start <= 0:
            raise ApiValueError(f"{where}: the file has no bytes from its current position")
        try:
            fd = file.fileno()
            regular = stat.S_ISREG(os.fstat(fd).st_mode)
        except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
            regular = False
        if regular and hasattr(os, "pread"):
            flush = getattr(file, "flush", None)
            if flush is not None and "+" in str(mode):
                flush()  # what was written through the object is in the file
            return _DescriptorFile(name, fd, start, None)
        return _ObjectFile(name, file, start, end)
    if isinstance(file, Iterable) and not isinstance(file, (str, Mapping)):
        return _Stream("file", _iterable_reader(iter(file), where))
    raise ApiTypeError(
        f"{where} expects a path, bytes, a binary file object or an iterable of bytes, "
        f"got {type(file).__name__}"
    )


# -- one upload ------------------------------------------------------------------------------


class _PartFailed(Exception):
    def __init__(self, part: int, attempts: int, cause: BaseException) -> None:
        super().__init__(part, attempts, cause)
        self.part, self.attempts, self.cause = part, attempts, cause


class _Progress:
    """Bytes moved, reported monotonic: a part sent again counts once, and the total is
    reported only when the upload is complete."""

    def __init__(
        self, callbacks: Sequence[Progress], total: Optional[int], acknowledged: int
    ) -> None:
        self._callbacks = callbacks
        self.total = total
        self._lock = threading.Lock()
        self._high: Dict[int, int] = {}
        self._sum = acknowledged
        self._reported = -1

    def sent(self, part: int, done: int) -> None:
        if not self._callbacks:
            return
        with self._lock:
            before = self._high.get(part, 0)
            if done <= before:
                return
            self._high[part] = done
            self._sum += done - before
            value = self._sum if self.total is None else min(self._sum, self.total - 1)
            if value > self._reported:
                self._reported = value
                for callback in self._callbacks:
                    callback(value, self.total)

    def finish(self, total: int) -> None:
        with self._lock:
            known, self.total = self.total, total
            if self._reported < total or known is None:
                self._reported = total
                for callback in self._callbacks:
                    callback(total, total)


class _PartBody:
    """One part's multipart body, streamed: iterating it again (a resend) starts over."""

    __slots__ = ("_blocks", "_check", "_head", "_on_sent", "_stop", "_tail", "length", "size")

    def __init__(
        self,
        head: bytes,
        tail: bytes,
        size: int,
        blocks: Callable[[], Iterator[memoryview]],
        on_sent: Callable[[int], None],
        stop: threading.Event,
        check: Callable[[], None],
    ) -> None:
        self._head, self._tail, self.size = head, tail, size
        self._blocks, self._on_sent, self._stop, self._check = blocks, on_sent, stop, check
        self.length = len(head) + size + len(tail)

    def __iter__(self) -> Iterator[Union[bytes, memoryview]]:
        yield self._head
        done = 0
        for block in self._blocks():
            if self._stop.is_set():
                raise _Cancelled
            yield block
            done += len(block)
            self._on_sent(done)  # the block is with the connection now
        if done != self.size:
            raise _SourceChanged(f"the source ended {self.size - done} bytes early")
        self._check()
        yield self._tail


class _Upload:
    """The state of one upload, shared by the threads sending its parts."""

    def __init__(
        self,
        api: ChunkedUploads,
        operation: Operation[Any],
        url: str,
        token_mode: bool,
        name: str,
        state: UploadResume,
        progress: _Progress,
        part_retries: int,
        options: Mapping[str, Any],
    ) -> None:
        client = api.api_client
        self.client = client
        self.operation = operation
        self.url = url
        self.token_mode = token_mode
        self.state = state
        self.progress = progress
        self.part_retries = part_retries
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.boundary = os.urandom(16).hex()
        self.name = name.replace('"', "%22").replace("\r", "").replace("\n", "")
        self.kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        self.timeout = options.get("_request_timeout")
        timeout = client.configuration.timeout if self.timeout is None else self.timeout
        total = check_timeout(timeout)[0]  # refused here, before anything is sent
        self.total_timeout = None if isinstance(timeout, tuple) else total
        self.auth = client._credentials(operation)  # refused here when credentials are missing
        headers = dict(
            client._headers(f"multipart/form-data; boundary={self.boundary}", ACCEPT_JSON)
        )
        headers.update(options.get("_headers") or {})
        self.headers = headers
        self.last: Optional[ApiResponse[Any]] = None

    @property
    def acknowledged(self) -> int:
        with self.lock:
            return sum(self.state._acked.values())

    def head(self) -> bytes:
        """The multipart fields before the file's bytes: ``videoId`` once it is known."""
        head = ""
        video_id = self.state._video_id
        if self.token_mode and video_id is not None:
            head += (
                f'--{self.boundary}\r\nContent-Disposition: form-data; name="videoId"\r\n\r\n'
                f"{video_id}\r\n"
            )
        head += (
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{self.name}"\r\nContent-Type: {self.kind}\r\n\r\n'
        )
        return head.encode()

    def body(
        self,
        part: int,
        size: int,
        blocks: Callable[[], Iterator[memoryview]],
        check: Callable[[], None],
    ) -> _PartBody:
        return _PartBody(
            self.head(),
            f"\r\n--{self.boundary}--\r\n".encode(),
            size,
            blocks,
            lambda done: self.progress.sent(part, done),
            self.stop,
            check,
        )

    # -- sending one part, with its retries
    def send(self, part: int, content_range: str, body: _PartBody, final: bool) -> ApiResponse[Any]:
        """Send one part until it is acknowledged, or raise _PartFailed. ``final``: the part
        that completes the upload."""
        attempt = 0
        waited_429 = 0
        while True:
            if self.stop.is_set():
                raise _Cancelled
            try:
                response = self._attempt(body, content_range, attempt + waited_429)
                break
            except _SourceChanged as error:
                raise _PartFailed(part, attempt + waited_429 + 1, error) from error
            except ApiException as error:
                status = error.status
                if final and (attempt or self.state._acked) and self._already_uploaded(error):
                    # An earlier try of this part was taken, and only its answer was lost
                    # (the other parts were taken in this upload: it was not complete before).
                    response = self._fetch_video()
                    break
                transport = isinstance(error, ApiConnectionError)
                if status == 429 and not transport:
                    hint = retry_after(error.headers or {})
                    wait_for = backoff(waited_429) if hint is None else hint
                    budget = self.client.configuration.retries
                    if waited_429 < budget and wait_for <= MAX_RETRY_WAIT:
                        waited_429 += 1
                        self._wait(f"{content_range}: 429", waited_429, wait_for)
                        continue
                    raise _PartFailed(part, attempt + waited_429 + 1, error) from error
                retryable = transport or (status is not None and (status >= 500 or status == 408))
                if not retryable or attempt >= self.part_retries:
                    raise _PartFailed(part, attempt + waited_429 + 1, error) from error
                hint = None if transport else retry_after(error.headers or {})
                wait_for = backoff(attempt) if hint is None else min(hint, MAX_RETRY_WAIT)
                attempt += 1
                cause = type(error).__name__ if transport else f"{status} {error.reason}"
                self._wait(f"{content_range}: {cause}", attempt, wait_for)
        if self.token_mode and self.state._video_id is None:
            video_id = getattr(response.body, "video_id", None)
            if isinstance(video_id, str) and video_id:
                self.state._video_id = video_id
            elif not final:
                detail = "the answer to the first part has no videoId for the other parts"
                raise _PartFailed(
                    part, attempt + 1, ApiResponseError(response.status, detail=detail)
                )
        with self.lock:
            self.state._acked[part] = body.size
        return response

    def _wait(self, what: str, attempt: int, seconds: float) -> None:
        logger.debug("POST %s %s; retry %d in %.2f s", self._path(), what, attempt, seconds)
        if self.stop.wait(seconds):
            raise _Cancelled

    def _path(self) -> str:
        return self.url.partition("?")[0]

    def _attempt(self, body: _PartBody, content_range: str, retries: int) -> ApiResponse[Any]:
        client = self.client
        headers = {
            **self.headers,
            "Content-Length": str(body.length),
            "Content-Range": content_range,
        }
        request = Request(self.operation, self.url, headers, None, self.timeout)
        if self.total_timeout is not None:
            request.deadline = time.monotonic() + self.total_timeout
        auth = self.auth
        replayed = False
        started = time.perf_counter()
        while True:
            if auth is None:
                credential = None
            else:  # a token renewal gets what is left of the deadline, or the timeout pair
                deadline = request.deadline
                timeout = self.timeout if deadline is None else deadline - time.monotonic()
                credential = auth.header(timeout)
            sent = headers if credential is None else {**headers, "Authorization": credential}
            response, _ = client.rest_client.request(
                "POST",
                self.url,
                headers=sent,
                body=body,
                timeout=self.timeout,
                retries=0,
                replay_safe=False,
                deadline=request.deadline,
            )
            if (
                response.status == 401
                and auth is not None
                and not replayed
                and auth.refused(credential)
            ):
                discard(response)
                replayed = True
                continue
            break
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "POST %s%s (%s, %d bytes) -> %s %s in %.1f ms",
                client.configuration.host,
                self._path(),
                content_range,
                body.size,
                response.status,
                response.reason,
                (time.perf_counter() - started) * 1000,
            )
        return client._respond(request, response, retries)

    @staticmethod
    def _already_uploaded(error: ApiException) -> bool:
        problem = error.problem
        kind = problem.get("type") if problem is not None else None
        return error.status == 400 and isinstance(kind, str) and kind.endswith(_ALREADY_UPLOADED)

    def _fetch_video(self) -> ApiResponse[Any]:
        """The video whose last part was taken though the answer to it was lost."""
        from .model.video import Video
        from .operation import ApiResponse
        from .paths.videos_video_id import get as get_video

        if not self.token_mode and self.auth is not None:
            request = self.client._build(get_video.operation, (self.state._target[1],))
            request.timeout = self.timeout
            return self.client._respond(request, *self.client._send(request))
        # With a token the video cannot be read back: what is known of it is its id.
        video_id = self.state._video_id
        if video_id is None:
            raise ApiResponseError(detail="the upload is complete, but its video is unknown")
        return ApiResponse(cast(Any, None), Video(video_id=video_id))


def _check_int(value: Any, name: str, low: int, high: Optional[int] = None) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ApiTypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < low or (high is not None and value > high):
        bounds = f">= {low}" if high is None else f"between {low} and {high}"
        raise ApiValueError(f"{name} must be {bounds}, got {value}")
    return value


class ChunkedUploads:
    """Uploads of a video source, for ``VideosApi``."""

    api_client: ApiClient

    def upload(
        self,
        video_id: str,
        file: UploadSource,
        *,
        chunk_size: Optional[int] = None,
        concurrency: int = 1,
        part_retries: int = 3,
        progress: Optional[Progress] = None,
        resume: Optional[UploadResume] = None,
        _progress_listener: Optional[Progress] = None,
        **options: Unpack[CallOptions],
    ) -> Video:
        """Upload a video's source: POST /videos/{videoId}/source, in parts when it is larger
        than ``chunk_size`` (default 50 MiB, from 5 to 128 MiB).

        ``file`` is a path, bytes, a binary file object (seekable or not: a pipe, a socket
        file) or an iterable of bytes, streamed in bounded memory. ``concurrency`` parts of a
        seekable source go at once (at most the configuration's ``connection_pool_maxsize``;
        a stream goes one part at a time); the last part goes once the others are taken. A
        part that fails on a connection error, a timeout or a 5xx is sent again up to
        ``part_retries`` times. ``progress(uploaded_bytes, total_bytes)`` is called as bytes
        move, never twice at once (from the sending threads when ``concurrency`` > 1);
        ``total_bytes`` is None while a stream's size is unknown, and the last call is
        ``(total, total)`` once the video has it all. ``_progress_listener`` is api.video's
        client's name for it. A part that finally fails raises :class:`UploadError`; pass its
        ``resume`` back as ``resume=`` to send only what is missing. ``_request_timeout``
        bounds each part's request.
        """
        if not isinstance(video_id, str) or not video_id:
            raise ApiTypeError(f"upload: video_id expects a non-empty str, got {video_id!r}")
        return cast(
            "Video",
            self._chunked(
                _upload.operation,
                f"/videos/{_segment(video_id)}/source",
                ("video", video_id),
                None,
                file,
                chunk_size,
                concurrency,
                part_retries,
                [c for c in (progress, _progress_listener) if c is not None],
                resume,
                options,
            ),
        )

    def upload_with_upload_token(
        self,
        token: str,
        file: UploadSource,
        *,
        video_id: Optional[str] = None,
        chunk_size: Optional[int] = None,
        concurrency: int = 1,
        part_retries: int = 3,
        progress: Optional[Progress] = None,
        resume: Optional[UploadResume] = None,
        _progress_listener: Optional[Progress] = None,
        **options: Unpack[CallOptions],
    ) -> Video:
        """Upload with a delegated upload token: POST /upload?token=..., no API key needed.

        The first part's answer names the video the other parts go to (``videoId``), so it
        goes first; ``video_id`` uploads to a video that already exists. The keywords are
        those of :meth:`upload`.
        """
        if not isinstance(token, str) or not token:
            raise ApiTypeError(
                "upload_with_upload_token: token expects a non-empty str, "
                f"got {type(token).__name__}"
            )
        if video_id is not None and (not isinstance(video_id, str) or not video_id):
            raise ApiTypeError(
                f"upload_with_upload_token: video_id expects a non-empty str, got {video_id!r}"
            )
        return cast(
            "Video",
            self._chunked(
                _upload_with_upload_token.operation,
                "/upload?" + urlencode({"token": token}),
                ("token", token),
                video_id,
                file,
                chunk_size,
                concurrency,
                part_retries,
                [c for c in (progress, _progress_listener) if c is not None],
                resume,
                options,
            ),
        )

    def create_upload_progressive_session(
        self, video_id: str, *, part_retries: int = 3
    ) -> ProgressiveSession:
        """A session that sends a video's source one part at a time, as you have them:
        ``upload_part(file)`` for each, then ``upload_last_part(file)``."""
        if not isinstance(video_id, str) or not video_id:
            raise ApiTypeError(
                f"create_upload_progressive_session: video_id expects a non-empty str, "
                f"got {video_id!r}"
            )
        return ProgressiveSession(self, video_id, None, part_retries)

    def create_upload_with_upload_token_progressive_session(
        self, token: str, video_id: Optional[str] = None, *, part_retries: int = 3
    ) -> ProgressiveSession:
        """A progressive session with a delegated upload token (no API key needed); the
        first part's answer names the video, unless ``video_id`` does."""
        if not isinstance(token, str) or not token:
            raise ApiTypeError(
                "create_upload_with_upload_token_progressive_session: token expects a "
                f"non-empty str, got {type(token).__name__}"
            )
        return ProgressiveSession(self, video_id, token, part_retries)

    # -- the engine
    def _chunked(
        self,
        operation: Operation[Any],
        url: str,
        target: Tuple[str, str],
        video_id: Optional[str],
        file: Any,
        chunk_size: Optional[int],
        concurrency: int,
        part_retries: int,
        callbacks: List[Progress],
        resume: Optional[UploadResume],
        options: Mapping[str, Any],
    ) -> Any:
        where = operation.name
        unknown = set(options) - _OPTIONS
        if unknown:
            raise ApiTypeError(
                f"{where}() got an unexpected keyword argument {sorted(unknown)[0]!r}"
            )
        if resume is not None:
            if not isinstance(resume, UploadResume):
                raise ApiTypeError(
                    f"{where}: resume expects the UploadError's resume, got {type(resume).__name__}"
                )
            if resume._target != target:
                raise ApiValueError(f"{where}: resume belongs to another upload")
            if resume._done:
                raise ApiValueError(f"{where}: resume is for an upload that is complete")
            if chunk_size is not None and chunk_size != resume._chunk_size:
                raise ApiValueError(
                    f"{where}: resume goes on with the chunk size it started with, "
                    f"{resume._chunk_size}, not {chunk_size}"
                )
            chunk_size = resume._chunk_size
        size = _check_int(
            DEFAULT_CHUNK_SIZE if chunk_size is None else chunk_size,
            "chunk_size",
            MIN_CHUNK_SIZE,
            MAX_CHUNK_SIZE,
        )
        pool = self.api_client.configuration.connection_pool_maxsize
        _check_int(concurrency, "concurrency", 1, pool)  # no more than the pool keeps open
        _check_int(part_retries, "part_retries", 0)
        for callback in callbacks:
            if not callable(callback):
                raise ApiTypeError(f"{where}: progress must be callable")
        if resume is not None and resume._stream is not None:
            if file is not resume._source:
                raise ApiValueError(f"{where}: resume a stream's upload with the same stream")
            source: Union[_File, _Stream] = resume._stream
        else:
            source = _open(file, f"{where}: file")
        try:
            if isinstance(source, _File):
                if resume is not None and resume._size != source.size:
                    raise ApiValueError(
                        f"{where}: resume is for a source of {resume._size} bytes, "
                        f"this one has {source.size}"
                    )
                state = resume or UploadResume(target, size, source.size)
            else:
                if resume is not None and resume._stream is None:
                    raise ApiValueError(f"{where}: resume is for a file, not a stream")
                state = resume or UploadResume(target, size, None)
                state._stream, state._source = source, file
            if video_id is not None:
                state._video_id = video_id
            acknowledged = sum(state._acked.values())
            progress = _Progress(callbacks, state._size, acknowledged)
            job = _Upload(
                self,
                operation,
                url,
                target[0] == "token",
                source.name,
                state,
                progress,
                part_retries,
                options,
            )
            try:
                if isinstance(source, _File):
                    self._send_file(job, source, size, concurrency)
                else:
                    self._send_stream(job, source, size)
            except _PartFailed as failed:
                raise self._failure(job, failed) from failed.cause
            except BaseException:
                job.stop.set()
                raise
        except BaseException:
            if isinstance(source, _File):
                source.finish(False)
            raise
        if isinstance(source, _File):
            source.finish(True)
        state._done = True
        total = job.acknowledged
        progress.finish(total)
        assert job.last is not None
        if options.get("_return_http_data_only") is False:
            return job.last
        return job.last.body

    @staticmethod
    def _failure(job: _Upload, failed: _PartFailed) -> BaseException:
        """The exception for a part that finally failed: the API's own when it refused the
        first part outright (nothing was taken), else an UploadError that can resume."""
        cause = failed.cause
        acknowledged = job.acknowledged
        state = job.state
        done = sorted(state._acked)
        parts = f"parts {_ranges(done)}" if done else "no part"
        where = job.operation.name
        if isinstance(cause, _SourceChanged):
            return UploadError(
                f"{where}: {cause}, so part {failed.part} was not sent whole; {acknowledged} "
                f"bytes were acknowledged ({parts}), the video is not complete",
                part=failed.part,
                acknowledged=acknowledged,
                resume=state,
                cause=cause,
            )
        status = getattr(cause, "status", None)
        if (
            acknowledged == 0
            and isinstance(cause, ApiException)
            and not isinstance(cause, ApiConnectionError)
            and status is not None
            and 400 <= status < 500
        ):
            return cause  # refused outright (404: no such video; 400: a bad token...): as is
        tries = "1 attempt" if failed.attempts == 1 else f"{failed.attempts} attempts"
        message = (
            f"{where}: part {failed.part} failed after {tries}: {cause}; "
            f"{acknowledged} bytes acknowledged ({parts}); pass resume=error.resume to send "
            f"the rest"
        )
        if job.token_mode:  # the token is in the URL that transport errors name
            token = state._target[1]
            for form in {token, quote(token, safe="")}:
                message = message.replace(form, "***")
        return UploadError(
            message,
            part=failed.part,
            acknowledged=acknowledged,
            resume=state,
            cause=cause,
        )

    @staticmethod
    def _send_file(job: _Upload, source: _File, chunk: int, concurrency: int) -> None:
        size = source.size
        count = max(1, math.ceil(size / chunk))
        acked = job.state._acked

        def send(number: int) -> None:
            offset = (number - 1) * chunk
            length = min(chunk, size - offset)
            blocks = _range_blocks(source, offset, length)
            body = job.body(number, length, blocks, source.check)
            response = job.send(number, f"part {number}/{count}", body, number == count)
            if number == count:
                job.last = response

        pending = [n for n in range(1, count + 1) if n not in acked]
        first = [1] if job.token_mode and job.state._video_id is None and count > 1 else []
        for number in first:  # its answer names the video the others go to
            if number in pending:
                send(number)
        middle = [n for n in pending if n != count and n not in first]
        _run_parts(job, send, middle, concurrency)
        if count not in acked:
            try:
                source.check()
            except _SourceChanged as error:
                raise _PartFailed(count, 0, error) from error
            send(count)

    @staticmethod
    def _send_stream(job: _Upload, source: _Stream, chunk_size: int) -> None:
        state = job.state
        while True:
            if state._pending is None:
                chunk = source.next_chunk(chunk_size)
                if chunk.size == 0:
                    raise ApiValueError(f"{job.operation.name}: file: the stream is empty")
                state._pending = chunk
                del chunk  # only the state holds it: released once acknowledged
            if ChunkedUploads._send_chunk(job, state):
                return

    @staticmethod
    def _send_chunk(job: _Upload, state: UploadResume) -> bool:
        """Send the stream's chunk in hand; whether it was the last."""
        chunk = state._pending
        assert chunk is not None
        number = state._next_part
        body = job.body(number, chunk.size, _chunk_blocks(chunk.blocks), _unchanged)
        total = str(number) if chunk.last else "*"
        response = job.send(number, f"part {number}/{total}", body, chunk.last)
        state._pending = None
        state._next_part = number + 1
        if chunk.last:
            job.last = response
            state._stream = None  # nothing left to resume
        return chunk.last


def _run_parts(job: _Upload, send: Callable[[int], None], numbers: List[int], workers: int) -> None:
    """Send ``numbers``, ``workers`` at a time; after a failure no new part starts, those on
    the way finish (what they send is acknowledged for a resume), then the failure is raised."""
    if workers <= 1 or len(numbers) <= 1:
        for number in numbers:
            send(number)
        return
    queue = iter(numbers)
    failure: Optional[BaseException] = None
    executor = ThreadPoolExecutor(min(workers, len(numbers)), thread_name_prefix="video-api-upload")
    try:
        running: Dict[Future[None], int] = {}
        for number in queue:
            running[executor.submit(send, number)] = number
            if len(running) >= workers:
                break
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                running.pop(future)
                error = future.exception()
                if error is not None:
                    if failure is None or isinstance(failure, _Cancelled):
                        failure = error
                elif failure is None:
                    number = next(queue, 0)
                    if number:
                        running[executor.submit(send, number)] = number
    except BaseException:
        job.stop.set()  # the parts on the way stop at their next block
        raise
    finally:
        executor.shutdown(wait=True)
    if failure is not None:
        raise failure


def _unchanged() -> None:
    """A stream's check: what was read is what is sent."""


def _ranges(numbers: List[int]) -> str:
    """``[1, 2, 3, 5]`` as ``1-3, 5``."""
    spans: List[str] = []
    start = previous = numbers[0]
    for number in [*numbers[1:], None]:
        if number is not None and number == previous + 1:
            previous = number
            continue
        spans.append(str(start) if start == previous else f"{start}-{previous}")
        if number is not None:
            start = previous = number
    return ", ".join(spans)


class ProgressiveSession:
    """Sends a video's source one part at a time, as you have the parts (api.video's
    progressive upload): ``upload_part(file)`` for each, then ``upload_last_part(file)``,
    which returns the video. Parts are sent as ``part N/*``, the last one as ``part N/N``.

    Each part is a path, bytes, a binary file object or an iterable of bytes; every part
    but the last must be from 5 to 128 MiB. A part that fails on a connection error, a
    timeout or a 5xx is sent again (``part_retries``); when it finally fails, the session
    stays on that part, so calling the method again sends it again.
    """

    def __init__(
        self,
        api: ChunkedUploads,
        video_id: Optional[str],
        token: Optional[str],
        part_retries: int = 3,
    ) -> None:
        _check_int(part_retries, "part_retries", 0)
        self.api = api
        self.video_id = video_id
        self.token = token
        self.current_part = 1
        self.part_retries = part_retries
        self._acked: Dict[int, int] = {}
        self._done = False
        self._lock = threading.Lock()

    def upload_part(self, file: UploadSource, **options: Unpack[CallOptions]) -> Video:
        """Send the next part (not the last one)."""
        return cast("Video", self._part(file, False, options))

    def upload_last_part(self, file: UploadSource, **options: Unpack[CallOptions]) -> Video:
        """Send the last part; the answer is the video."""
        return cast("Video", self._part(file, True, options))

    # api.video's client's names
    uploadPart = upload_part
    uploadLastPart = upload_last_part

    def _part(self, file: Any, last: bool, options: Mapping[str, Any]) -> Any:
        token_mode = self.token is not None
        operation = _upload_with_upload_token.operation if token_mode else _upload.operation
        where = f"{operation.name} ({'last ' if last else ''}part {self.current_part})"
        unknown = set(options) - _OPTIONS
        if unknown:
            raise ApiTypeError(f"{where}: unexpected keyword argument {sorted(unknown)[0]!r}")
        if self._done:
            raise ApiValueError(f"{where}: the session's last part was sent already")
        source = _open(file, f"{where}: file")
        try:
            return self._send(source, last, options, where, operation)
        except BaseException:
            if isinstance(source, _File):
                source.finish(False)
            raise

    def _send(
        self,
        source: Union[_File, _Stream],
        last: bool,
        options: Mapping[str, Any],
        where: str,
        operation: Operation[Any],
    ) -> Any:
        if isinstance(source, _Stream):  # one part, held: its size goes in Content-Length
            chunk = source.next_chunk(MAX_CHUNK_SIZE)
            if chunk.size == 0:
                raise ApiValueError(f"{where}: file: the stream is empty")
            if not chunk.last:
                raise ApiValueError(f"{where}: a part is at most {MAX_CHUNK_SIZE} bytes")
            size, blocks, check = chunk.size, _chunk_blocks(chunk.blocks), _unchanged
        else:
            size, blocks, check = source.size, _range_blocks(source, 0, source.size), source.check
        if size > MAX_CHUNK_SIZE or (not last and size < MIN_CHUNK_SIZE):
            low = "1" if last else str(MIN_CHUNK_SIZE)
            raise ApiValueError(
                f"{where}: a {'last ' if last else ''}part must be from {low} to "
                f"{MAX_CHUNK_SIZE} bytes, got {size}"
            )
        token_mode = self.token is not None
        if token_mode:
            target = ("token", self.token or "")
            url = "/upload?" + urlencode({"token": self.token or ""})
        else:
            target = ("video", self.video_id or "")
            url = f"/videos/{_segment(self.video_id or '')}/source"
        state = UploadResume(target, MAX_CHUNK_SIZE, None)
        state._video_id = self.video_id
        state._acked = self._acked
        with self._lock:
            number = self.current_part
            job = _Upload(
                self.api,
                operation,
                url,
                token_mode,
                source.name,
                state,
                _Progress((), None, 0),
                self.part_retries,
                options,
            )
            body = job.body(number, size, blocks, check)
            try:
                job.last = job.send(number, f"part {number}/{number if last else '*'}", body, last)
            except _PartFailed as failed:
                error = ChunkedUploads._failure(job, failed)
                if isinstance(error, UploadError):
                    error.resume = None  # the session stays on this part: call again
                raise error from failed.cause
            if isinstance(source, _File):
                source.finish(True)
            self.video_id = state._video_id
            self.current_part = number + 1
            self._done = last
        assert job.last is not None
        if options.get("_return_http_data_only") is False:
            return job.last
        return job.last.body


__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "MAX_CHUNK_SIZE",
    "MIN_CHUNK_SIZE",
    "ChunkedUploads",
    "ProgressiveSession",
    "UploadError",
    "UploadResume",
]
