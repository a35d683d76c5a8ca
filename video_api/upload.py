"""Video uploads: the methods of the spec's ``x-client-chunk-upload`` operations.

Parts are multipart requests with ``Content-Range: part N/M`` (a stream of unknown size sends
``part N/*``, its last ``part N/N``), read a block at a time; a stream that cannot seek keeps
only the chunk it may resend. A part failing on a connection error, a timeout or a 5xx is
resent (same number, same bytes); a 429 is waited out as the configuration's ``retries`` allow.
The first part of an upload with a token and no video id creates the video: once it may have
reached the API it is never sent again (that could create a second video).
"""

from __future__ import annotations

import io
import logging
import os
import stat
import threading
import time
from collections.abc import Iterable, Mapping
from typing import IO, TYPE_CHECKING, Any, Callable, ContextManager, Iterator, Optional, Union, cast
from urllib.parse import quote, urlencode

from .api_client import _OPTIONS, ACCEPT_JSON, MultipartBody, Request, _headers_given, _segment
from .configuration import (
    DEFAULT_CHUNK_SIZE,
    MAX_CHUNK_SIZE,
    MIN_CHUNK_SIZE,
    MiB,
    check_timeout,
)
from .exceptions import (
    ApiConnectionError,
    ApiException,
    ApiResponseError,
    ApiTypeError,
    ApiValueError,
)
from .operation import ApiResponse, Operation
from .paths.upload import post as _upload_with_upload_token
from .paths.videos_video_id import get as _get_video
from .paths.videos_video_id_source import post as _upload

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .api_client import ApiClient, CallOptions
    from .model.video import Video

    #: What ``upload`` takes: a path, bytes, a binary file object or an iterable of bytes.
    UploadSource = Union[
        str, "os.PathLike[str]", bytes, bytearray, memoryview, IO[bytes], Iterable[bytes]
    ]
    #: ``progress(uploaded_bytes, total_bytes)``; the total is None while a stream's is unknown.
    Progress = Callable[[int, Optional[int]], object]

logger: logging.Logger = logging.getLogger("video_api")

#: The largest source taken: 8 PiB, past any video the API stores, and the largest size JSON
#: (the API's ``filesize``) carries exactly. A file object claiming more is refused.
MAX_SIZE = 2**53
BLOCK: int = MiB  # read from the source and handed to the connection at a time


class UploadError(ApiException):
    """A part of an upload finally failed (or the source changed while it was sent).

    ``part`` is the part's number, ``acknowledged`` the bytes api.video had taken. The same
    upload call with the same source and ``resume=error.resume`` sends only what is missing (in
    this process); ``resume`` is None when the upload cannot go on (its first part, which
    creates the video, may have been taken). The cause is ``__cause__``; its status, headers
    and problem are copied here.
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
        self._text = message
        super().__init__(detail=None if cause is None else str(cause))
        if isinstance(cause, ApiException):
            vars(self).update(vars(cause))  # its status, headers, parsed problem, retries...
        self.part: Optional[int] = part
        self.acknowledged: int = acknowledged
        self.resume: Optional[UploadResume] = resume

    def _message(self) -> str:
        return self._text


class UploadResume:
    """Opaque: where a failed upload stopped (and a stream's chunk); pass it back as ``resume=``."""

    def __init__(self, target: tuple[str, str], chunk_size: int, size: Optional[int]) -> None:
        self._target = target  # ("video", its id) or ("token", the upload token)
        self._chunk_size = chunk_size
        self._size = size  # None for a stream
        self._acked: dict[int, int] = {}  # part number -> bytes
        self._tried: set[int] = set()  # parts that may have been taken though no answer said so
        self._video_id: Optional[str] = None  # learnt from the first part of a token upload
        self._stream: Optional[_Stream] = None  # with its chunk not acknowledged
        self._source: Any = None  # the stream object the caller gave
        self._done = False

    def __repr__(self) -> str:
        done, of = sum(self._acked.values()), "" if self._size is None else f" of {self._size}"
        return f"<UploadResume {len(self._acked)} parts, {done} bytes acknowledged{of}>"


class _File(ContextManager["_File"]):
    """A source of known size read at any offset: bytes, or a seekable file (under a lock)."""

    def __init__(
        self, name: str, source: Any, start: int = 0, owned: bool = False, where: str = ""
    ) -> None:
        self.name, self.source, self.start, self.owned = name, source, start, owned
        self.where = where  # for a file object's read() that gives no bytes
        self.lock = threading.Lock()
        self.stamp = self._stamp()
        self.size = self.stamp[0]

    def blocks(self, offset: int, length: int) -> Iterator[Union[bytes, memoryview]]:
        """``length`` bytes from ``offset``, a block at a time, into one buffer reused once sent."""
        end = offset + length
        if isinstance(self.source, memoryview):
            for start in range(offset, end, BLOCK):
                yield self.source[start : min(start + BLOCK, end)]
            return
        buffer = memoryview(bytearray(min(BLOCK, length)))
        while offset < end:
            view = buffer[: min(BLOCK, end - offset)]
            with self.lock:
                try:
                    self.source.seek(self.start + offset)
                    if hasattr(self.source, "readinto"):
                        count = self.source.readinto(view) or 0
                    else:  # a file object that only reads
                        raw = self.source.read(len(view))
                        if (data := _flat(raw)) is None:
                            kind = _kind(raw)
                            raise ApiTypeError(
                                f"{self.where}: read() must return bytes, got {kind}"
                            )
                        count = min(len(data), len(view))  # any more is read again next
                        view[:count] = data[:count]
                except OSError as error:  # the disk's, not the network's: not sent again
                    raise _Unreadable(self.name, error) from error
            if not count:
                return
            yield view[:count]
            offset += count

    def changed(self) -> Optional[str]:
        """How the file changed since the upload started, if it did."""
        size, written = self._stamp()
        if (size, written) == self.stamp:
            return None
        change = f"its size went from {self.size} to {size} bytes"
        if size == self.size:
            change = "it was written"
        return f"{self.name!r} changed during the upload: {change}"

    def __exit__(self, error: object, *details: object) -> None:
        """Close a file opened here; leave a file object given past the bytes sent, or where
        it was if the upload failed (where a resume starts again)."""
        if self.owned:
            self.source.close()
        elif not isinstance(self.source, memoryview):
            with self.lock:
                self.source.seek(self.start + (self.size if error is None else 0))

    def _stamp(self) -> tuple[int, int]:
        """The size from the start, and the time of the last write where the system has it."""
        if isinstance(self.source, memoryview):
            return len(self.source), 0
        with self.lock:
            size = self.source.seek(0, os.SEEK_END) - self.start
        try:
            return size, os.fstat(self.source.fileno()).st_mtime_ns
        except (AttributeError, OSError, ValueError):  # not a file of the system (BytesIO)
            return size, 0


class _Stream(ContextManager["_Stream"]):
    """A source read once (a pipe, a generator), holding the chunk it may resend until acked."""

    PROBE = 64 * 1024

    def __init__(self, name: str, read: Callable[[int], Any], where: str) -> None:
        self.name, self.read, self.where = name, read, where  # read(size): b"" at the end
        self.ahead: Optional[memoryview] = None  # read past the chunk
        self.chunk: Optional[list[memoryview]] = None  # read, not acknowledged
        self.length = 0  # the chunk's
        self.last = False  # whether the source ends with the chunk

    def read_chunk(self, limit: int) -> int:
        """Read the next chunk, of up to ``limit`` bytes; its length. If reading fails, what
        was read is kept ahead: a resume reads the chunk again from there."""
        self.chunk, self.length = [], 0
        try:
            while (room := limit - self.length) > 0:
                block = self._take(min(room, BLOCK))
                if block is None:  # the end (and nothing is ahead)
                    break
                if len(block) > room:
                    block, self.ahead = block[:room], block[room:]
                self.chunk.append(block)
                self.length += len(block)
            if self.length == limit:  # full: read past it to learn whether the source ends
                self.ahead = self._take(self.PROBE)
        except _Unreadable:  # _take failed, so nothing is ahead
            kept = b"".join(self.chunk)
            self.chunk, self.length, self.ahead = None, 0, memoryview(kept) if kept else None
            raise
        self.last = self.ahead is None
        return self.length

    def blocks(self) -> Iterator[memoryview]:
        for block in self.chunk or ():
            for start in range(0, len(block), BLOCK):
                yield block[start : start + BLOCK]

    def __exit__(self, *error: object) -> None:
        """Nothing to release: the chunk is kept for a resume."""

    def _take(self, size: int) -> Optional[memoryview]:
        """Up to ``size`` bytes, None at the end."""
        if self.ahead is not None:
            ahead, self.ahead = self.ahead, None
            return ahead
        try:
            while (data := self.read(size)) is None:  # a non-blocking stream with nothing yet
                time.sleep(0.01)
        except OSError as error:  # the source's, not the network's: not sent again
            raise _Unreadable(self.name, error) from error
        if isinstance(data, str):
            raise ApiValueError(f"{self.where}: open the file in binary mode ('rb'), not text mode")
        if (block := _flat(data)) is None:
            raise ApiTypeError(f"{self.where}: read() must return bytes, got {_kind(data)}")
        return block if len(block) else None


class _Unreadable(Exception):
    """Reading the source failed (an OSError, such as a disk's I/O error)."""

    def __init__(self, name: str, error: OSError) -> None:
        super().__init__(f"cannot read {name!r}: {error.strerror or error}")


def _flat(data: Any) -> Optional[memoryview]:
    """``data``'s bytes as one flat view, or None if it has none (an int, a view with gaps)."""
    try:
        return memoryview(data).cast("B")
    except (TypeError, ValueError):
        return None


def _kind(data: Any) -> str:
    """What ``data`` is, for a message refusing it as bytes."""
    return "a non-contiguous memoryview" if isinstance(data, memoryview) else type(data).__name__


def _open(file: Any, where: str) -> Union[_File, _Stream]:
    """The source behind ``file``, refusing what cannot be uploaded before anything is sent."""
    if isinstance(file, (bytes, bytearray, memoryview)):
        data = _flat(file)
        if data is None:
            kind = _kind(file)
            raise ApiTypeError(f"{where}: the source must be bytes, got {kind}; pass bytes(source)")
        if not data:
            raise ApiValueError(f"{where}: the bytes to upload are empty")
        return _File("file", data)
    if isinstance(file, (str, os.PathLike)):
        shown = os.fsdecode(file)
        if os.path.isdir(file):
            raise ApiValueError(f"{where}: {shown!r} is a directory, not a file")
        if not os.path.exists(file):
            raise ApiValueError(f"{where}: no file at {shown!r}")
        try:
            opened = open(file, "rb")  # noqa: SIM115 (closed by the source)
        except OSError as error:
            raise ApiValueError(f"{where}: cannot open {shown!r}: {error.strerror}") from None
        name = os.path.basename(shown)
        if not stat.S_ISREG(os.fstat(opened.fileno()).st_mode):  # a named pipe: read it once
            return _Stream(name, opened.read, where)
        source = _File(name, opened, owned=True)
        if source.size == 0:
            opened.close()
            raise ApiValueError(f"{where}: {shown!r} is empty")
        return source
    if hasattr(file, "read"):
        if getattr(file, "closed", False):
            raise ApiValueError(f"{where}: the file is closed")
        mode, encoding = getattr(file, "mode", "b"), getattr(file, "encoding", None)
        text = (isinstance(mode, str) and "b" not in mode) or isinstance(encoding, str)
        if text or isinstance(file, io.TextIOBase):
            raise ApiValueError(f"{where}: open the file in binary mode ('rb'), not text mode")
        path = getattr(file, "name", None)
        name = os.path.basename(path) if isinstance(path, str) else "file"
        try:
            seekable = _File(name, file, file.tell(), where=where) if file.seekable() else None
        except (AttributeError, OSError, ValueError):
            seekable = None
        if seekable is None:  # a pipe, a socket: read it once
            return _Stream(name, file.read, where)
        if seekable.size <= 0:
            raise ApiValueError(f"{where}: the file has no bytes from its current position")
        return seekable
    if isinstance(file, Iterable) and not isinstance(file, Mapping):
        items = iter(file)

        def read(size: int) -> Any:  # the next item that is not empty, whatever the size
            for item in items:
                bytes_like = isinstance(item, (bytes, bytearray, memoryview))
                if (block := _flat(item) if bytes_like else None) is None:
                    kind = _kind(item)
                    raise ApiTypeError(f"{where}: an iterable source must yield bytes, got {kind}")
                if len(block):
                    return block
            return b""

        return _Stream("file", read, where)
    raise ApiTypeError(
        f"{where} expects a path, bytes, a binary file object or an iterable of bytes, "
        f"got {type(file).__name__}"
    )


class _PartFailed(Exception):
    """A part that is not sent again: why (``cause``), after how many attempts; ``creating``:
    the part that creates the video may have been taken, so the upload cannot go on."""

    def __init__(
        self, part: int, attempts: int, cause: BaseException, creating: bool = False
    ) -> None:
        self.part, self.attempts, self.cause, self.creating = part, attempts, cause, creating


class _Cancelled(Exception):
    """The upload was interrupted (Ctrl-C in the calling thread): the parts on the way stop."""


def _maybe_taken(error: ApiException) -> bool:
    """Whether the API may have acted on a part that failed with ``error``: no answer came
    though the request may have gone out, or a 5xx but 503. Not if the connection was never
    made (or the deadline passed before a try), nor on a 408, 429 or 503 (not processed) or
    any other 4xx (refused)."""
    from .rest import _UNSENT, UNPROCESSED_STATUSES  # loaded with the client that sent it

    if isinstance(error, ApiConnectionError):
        before = error.__cause__ is None and error.status is None  # the transport's deadline
        return not before and not isinstance(error.__cause__, _UNSENT)
    status = error.status or 0
    return status >= 500 and status not in UNPROCESSED_STATUSES


def _endpoint(target: tuple[str, str]) -> tuple[Operation[Any], str]:
    if target[0] == "token":
        return _upload_with_upload_token.operation, "/upload?" + urlencode({"token": target[1]})
    return _upload.operation, f"/videos/{_segment(target[1])}/source"


class _Upload:
    """One upload's settings and state, shared by the threads sending its parts."""

    def __init__(
        self,
        client: ApiClient,
        state: UploadResume,
        source: Union[_File, _Stream],
        callbacks: list[Progress],
        part_retries: int,
        options: Mapping[str, Any],
    ) -> None:
        self.client, self.state, self.source = client, state, source
        self.callbacks, self.part_retries = callbacks, part_retries
        self.token_mode = state._target[0] == "token"
        self.operation, self.url = _endpoint(state._target)
        self.path = self.url.partition("?")[0]  # for logs: without the token
        self.timeout = options.get("_request_timeout")
        timeout = client.configuration.timeout if self.timeout is None else self.timeout
        check_timeout(timeout)  # refused here, before anything is sent
        self.total_timeout = None if isinstance(timeout, tuple) else timeout
        # Both of one configuration (refused here when credentials are needed and there are none)
        self.transport, self.auth = client._route_for(self.operation)
        extra = _headers_given(options.get("_headers") or {}, f"{self.operation.name}: _headers")
        self.headers = {**client._headers(None, ACCEPT_JSON), **extra}
        self.stop = threading.Event()
        self.lock = threading.Lock()  # progress is monotonic; the total comes at the end
        self.moved, self.reported = sum(state._acked.values()), -1
        self.sent_of_part: dict[int, int] = {}  # a part sent again counts once

    def send(
        self, part: int, size: int, final: bool, count: Optional[int] = None, offset: int = 0
    ) -> ApiResponse[Any]:
        """Send a part until it is acknowledged, or raise _PartFailed (``count``: if known)."""
        content_range = f"part {part}/{count or (part if final else '*')}"
        video_id = self.state._video_id
        fields = [("videoId", video_id, False)] if self.token_mode and video_id else []
        creating = self.token_mode and not video_id  # this part creates the video
        file = MultipartBody.File(self.source.name, size, lambda: self._body(part, size, offset))
        body = MultipartBody([*fields, ("file", file, True)], self.operation.name)
        tries = waits = 0  # failed attempts; 429s waited out
        while True:
            try:
                response = self._attempt(body, content_range, tries + waits)
                break
            except ApiException as error:
                kind = error.problem.type if error.problem is not None else None
                taken = error.status == 400 and str(kind).endswith("video-source-already-uploaded")
                if final and taken and (part in self.state._tried or self.state._acked):
                    # Taken by an earlier try whose answer was lost (in this call or the one it
                    # resumes), or other parts were taken in this upload (not complete before).
                    response = self._fetch_video()
                    break
                if _maybe_taken(error):
                    self.state._tried.add(part)
                    if creating:  # sent again, it could create a second video
                        raise _PartFailed(part, tries + waits + 1, error, True) from error
                rest = self.client._rest  # the transport's policy: its waits and their cap
                status = None if isinstance(error, ApiConnectionError) else error.status
                hint = None if status is None else rest.retry_after(error.headers or {})
                if status == 429:
                    wait = rest.backoff(waits) if hint is None else hint
                    retry = waits < self.client.configuration.retries
                    retry = retry and wait <= rest.MAX_RETRY_WAIT
                    waits += 1
                else:
                    wait = rest.backoff(tries) if hint is None else min(hint, rest.MAX_RETRY_WAIT)
                    retryable = status is None or status >= 500 or status == 408
                    retry = retryable and tries < self.part_retries
                    tries += 1
                if not retry:
                    raise _PartFailed(part, tries + waits, error) from error
                why = type(error).__name__ if status is None else f"{status} {error.reason}"
                retry_log = "POST %s %s: %s; retry %d in %.2f s"
                logger.debug(retry_log, self.path, content_range, why, tries + waits, wait)
                if self.stop.wait(wait):
                    raise _Cancelled from None
        if self.token_mode and self.state._video_id is None:
            self.state._video_id = getattr(response.body, "video_id", None)
            if not self.state._video_id and not final:
                detail = "the answer to the first part has no videoId for the other parts"
                missing = ApiResponseError(response.status, detail=detail)
                raise _PartFailed(part, tries + waits + 1, missing)
        self.state._acked[part] = size
        return response

    def failure(self, failed: _PartFailed, resume: Optional[UploadResume]) -> BaseException:
        """The API's own exception if it refused the first part outright, else an UploadError."""
        cause, state, where = failed.cause, self.state, self.operation.name
        acknowledged = sum(state._acked.values())  # the sending threads are done
        status = getattr(cause, "status", None) or 0
        refused = 400 <= status < 500 and not isinstance(cause, ApiConnectionError)
        if acknowledged == 0 and refused and not failed.creating:
            return cause  # refused outright (404: no such video; 400: a bad token...): as is
        parts = f"parts {_ranges(sorted(state._acked))}" if state._acked else "no part"
        if failed.creating:
            message = (
                f"{where}: part {failed.part} may have reached the API before it failed "
                f"({cause}); it creates the video, so it was not sent again (that could create "
                "a second video). A video may have been created, its id unknown here: look "
                "for it among the account's videos (GET /videos) before uploading again"
            )
            resume = None
        elif isinstance(cause, ApiException):
            tries = "1 attempt" if failed.attempts == 1 else f"{failed.attempts} attempts"
            message = (
                f"{where}: part {failed.part} failed after {tries}: {cause}; {acknowledged} "
                f"bytes acknowledged ({parts}); pass resume=error.resume to send the rest"
            )
        else:  # the source changed, ended early or could not be read
            message = (
                f"{where}: {cause}, so part {failed.part} was not sent whole; {acknowledged} "
                f"bytes were acknowledged ({parts}), the video is not complete"
            )
        if self.token_mode:  # the token is in the URL that transport errors name
            for form in {state._target[1], quote(state._target[1], safe="")}:
                message = message.replace(form, "***")
        return UploadError(
            message, part=failed.part, acknowledged=acknowledged, resume=resume, cause=cause
        )

    def _body(self, part: int, size: int, offset: int) -> Iterator[Union[bytes, memoryview]]:
        """The part's blocks as sent: progress, a stop on interruption, a check of the file."""
        source = self.source
        sent = 0
        blocks = source.blocks(offset, size) if isinstance(source, _File) else source.blocks()
        try:
            for block in blocks:
                if self.stop.is_set():
                    raise _Cancelled
                yield block
                sent += len(block)
                self._progress(part, sent)  # the block is with the connection now
        except _Unreadable as error:  # raised through the connection, which is dropped
            raise _PartFailed(part, 1, ApiValueError(str(error))) from error
        change = source.changed() if isinstance(source, _File) else None
        if sent != size:
            change = f"the source ended {size - sent} bytes early"
        if change:
            raise _PartFailed(part, 1, ApiValueError(change))

    def _progress(self, part: int, sent: int) -> None:
        with self.lock:
            more = sent - self.sent_of_part.get(part, 0)
            if more <= 0:
                return
            self.sent_of_part[part] = sent
            self.moved += more
            total = self.state._size
            value = self.moved if total is None else min(self.moved, total - 1)
            if value > self.reported:
                self.reported = value
                for callback in self.callbacks:
                    callback(value, total)

    def _attempt(self, body: MultipartBody, content_range: str, retries: int) -> ApiResponse[Any]:
        """One try of a part: no retry but the one a refused token allows."""
        headers = {"Content-Type": body.content_type, **self.headers}  # the caller's _headers win
        headers.update({"Content-Length": str(body.length), "Content-Range": content_range})
        request = Request(self.operation, self.url, headers, body, self.timeout)
        if self.total_timeout is not None:
            request.deadline = time.monotonic() + self.total_timeout
        deadline, started = request.deadline, time.perf_counter()
        for replayed in (False, True):
            # A token renewal gets what is left of the deadline.
            left = self.timeout if deadline is None else deadline - time.monotonic()
            credential = None if self.auth is None else self.auth.header(left)
            response, _ = self.transport.request(
                "POST",
                self.url,
                headers=headers if credential is None else {**headers, "Authorization": credential},
                body=body,
                timeout=self.timeout,
                retries=0,
                replay_safe=False,
                deadline=deadline,
            )
            refused = not replayed and response.status == 401 and self.auth is not None
            if not refused or not self.auth.refused(credential):
                break
            self.client._rest.discard(response)
        took = (time.perf_counter() - started) * 1000
        status = f"{response.status} {response.reason}"
        logger.debug("POST %s %s -> %s in %.1f ms", self.path, content_range, status, took)
        return self.client._respond(request, response, retries)

    def _fetch_video(self) -> ApiResponse[Any]:
        """The video whose last part was taken though the answer to it was lost."""
        if not self.token_mode:
            options = {"_request_timeout": self.timeout, "_return_http_data_only": False}
            video = self.client.call(_get_video.operation, (self.state._target[1],), options)
            return cast("ApiResponse[Any]", video)
        # With a token the video cannot be read back: what is known of it is its id.
        if self.state._video_id is None:
            raise ApiResponseError(detail="the upload is complete, but its video is unknown")
        from .model.video import Video  # only this case needs the model at run time

        return ApiResponse(cast(Any, None), Video(video_id=self.state._video_id))

    def send_file(self, source: _File, chunk: int, concurrency: int) -> ApiResponse[Any]:
        """The parts, ``concurrency`` at a time, the last one last. After a failure no new part
        starts; those on the way finish (what they send counts for a resume), then it is raised.
        The part numbers are taken one at a time, never all listed (a size may be huge)."""
        count = max(1, -(-source.size // chunk))
        acked = self.state._acked  # parts before the last one: the last one ends the upload
        failures: list[Exception] = []
        pending = (number for number in range(1, count) if number not in acked)
        left = count - 1 - len(acked)
        taking = threading.Lock()  # a generator is not for two threads at once

        def send(number: int) -> ApiResponse[Any]:
            offset = (number - 1) * chunk
            length = min(chunk, source.size - offset)
            return self.send(number, length, number == count, count, offset)

        def work() -> None:
            while not failures and not self.stop.is_set():
                with taking:
                    number = next(pending, None)
                if number is None:
                    return
                try:
                    send(number)
                except Exception as error:  # raised below, in the calling thread
                    failures.append(error)

        if self.token_mode and self.state._video_id is None and left > 0:
            send(next(pending))  # part 1: its answer names the video the other parts go to
            left -= 1
        if concurrency == 1 or left <= 1:
            for number in pending:
                send(number)
        else:
            from concurrent.futures import ThreadPoolExecutor  # only concurrent uploads need it

            with ThreadPoolExecutor(concurrency, thread_name_prefix="video-api-upload") as pool:
                workers = [pool.submit(work) for _ in range(min(concurrency, left))]
                try:
                    for worker in workers:
                        worker.result()
                except BaseException:
                    self.stop.set()  # the parts on the way stop at their next block
                    raise
            if failures:
                raise failures[0]
        return send(count)  # the last part, once every other one is acknowledged

    def send_stream(self, stream: _Stream, chunk: int) -> ApiResponse[Any]:
        while True:
            part = len(self.state._acked) + 1
            try:
                if stream.chunk is None and stream.read_chunk(chunk) == 0:
                    raise ApiValueError(f"{self.operation.name}: file: the stream is empty")
            except _Unreadable as error:
                raise _PartFailed(part, 0, ApiValueError(str(error))) from error
            response = self.send(part, stream.length, stream.last)
            stream.chunk = None  # acknowledged: let it go
            if stream.last:
                return response


def _ranges(numbers: list[int]) -> str:
    """``[1, 2, 3, 5]`` as ``1-3, 5``."""
    spans: list[list[int]] = []
    for number in numbers:
        if spans and spans[-1][1] == number - 1:
            spans[-1][1] = number
        else:
            spans.append([number, number])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)


def _refuse_raw(options: Mapping[str, Any], where: str) -> None:
    """Refuse ``_preload_content=False`` as every other method does: an upload's answer is
    read (it names the video, and a lost one is looked for)."""
    if options.get("_preload_content") is False:
        raise ApiValueError(
            f"{where}: _preload_content=False is not supported; for the raw response use "
            "client.call_api(path, method, stream=True)"
        )


def _check_int(value: Any, name: str, low: int, high: Optional[int] = None) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ApiTypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < low or (high is not None and value > high):
        bounds = f">= {low}" if high is None else f"between {low} and {high}"
        raise ApiValueError(f"{name} must be {bounds}, got {value}")


def _check_str(value: Any, name: str, where: str) -> None:
    if not isinstance(value, str) or not value:
        shown = type(value).__name__ if name == "token" else repr(value)  # a token is a secret
        raise ApiTypeError(f"{where}: {name} expects a non-empty str, got {shown}")


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
        """Upload a video's source: POST /videos/{videoId}/source, in parts of ``chunk_size``
        (5 to 128 MiB; default: the configuration's, 50 MiB unless set), ``concurrency`` at a
        time for a seekable source.

        ``file``: a path, bytes, a binary file object (a pipe too) or an iterable of bytes. A part
        failing on a connection error, a timeout or a 5xx is sent again up to ``part_retries``
        times. ``progress(uploaded_bytes, total_bytes)`` (or ``_progress_listener``) is called as
        bytes move, never twice at once; ``total_bytes`` is None until a stream's size is known,
        and the last call is ``(total, total)``. ``_request_timeout`` bounds each part's request.
        An :class:`UploadError`'s ``resume``, passed as ``resume=``, sends only what is missing.
        """
        _check_str(video_id, "video_id", "upload")
        callbacks = [c for c in (progress, _progress_listener) if c is not None]
        target = ("video", video_id)
        return self._chunked(
            target, file, resume, chunk_size, concurrency, part_retries, callbacks, options
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
        """Upload with a delegated upload token (no API key needed): POST /upload?token=...

        The first part goes first: its answer names the video for the others, unless
        ``video_id`` does. The keywords are those of :meth:`upload`.
        """
        _check_str(token, "token", "upload_with_upload_token")
        if video_id is not None:
            _check_str(video_id, "video_id", "upload_with_upload_token")
        callbacks = [c for c in (progress, _progress_listener) if c is not None]
        return self._chunked(
            ("token", token),
            file,
            resume,
            chunk_size,
            concurrency,
            part_retries,
            callbacks,
            options,
            video_id,
        )

    def create_upload_progressive_session(
        self, video_id: str, *, part_retries: int = 3
    ) -> ProgressiveSession:
        """A :class:`ProgressiveSession` that sends a video's parts as you have them."""
        _check_str(video_id, "video_id", "create_upload_progressive_session")
        return ProgressiveSession(self, video_id, None, part_retries)

    def create_upload_with_upload_token_progressive_session(
        self, token: str, video_id: Optional[str] = None, *, part_retries: int = 3
    ) -> ProgressiveSession:
        """A progressive session with a delegated upload token, to ``video_id`` or a new video."""
        _check_str(token, "token", "create_upload_with_upload_token_progressive_session")
        return ProgressiveSession(self, video_id, token, part_retries)

    def _chunked(
        self,
        target: tuple[str, str],
        file: Any,
        resume: Optional[UploadResume],
        chunk_size: Optional[int],
        concurrency: int,
        part_retries: int,
        callbacks: list[Progress],
        options: Mapping[str, Any],
        video_id: Optional[str] = None,
    ) -> Video:
        where = _endpoint(target)[0].name
        unknown = set(options) - _OPTIONS
        if unknown:
            raise ApiTypeError(f"{where}() got an unexpected keyword argument {min(unknown)!r}")
        _refuse_raw(options, where)
        if resume is not None:
            if not isinstance(resume, UploadResume):
                kind = type(resume).__name__
                raise ApiTypeError(f"{where}: resume expects the UploadError's resume, got {kind}")
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
        chunk = self.api_client.configuration.chunk_size if chunk_size is None else chunk_size
        _check_int(chunk, "chunk_size", MIN_CHUNK_SIZE, MAX_CHUNK_SIZE)
        pool = self.api_client.configuration.connection_pool_maxsize
        _check_int(concurrency, "concurrency", 1, pool)  # no more than the pool keeps open
        _check_int(part_retries, "part_retries", 0)
        if not all(callable(callback) for callback in callbacks):
            raise ApiTypeError(f"{where}: progress must be callable")
        if resume is not None and resume._stream is not None:
            if file is not resume._source:
                raise ApiValueError(f"{where}: resume a stream's upload with the same stream")
            source: Union[_File, _Stream] = resume._stream
        else:
            source = _open(file, f"{where}: file")
        with source:
            size = source.size if isinstance(source, _File) else None
            if size is not None and size > MAX_SIZE:
                raise ApiValueError(
                    f"{where}: file: the source has {size} bytes, more than the API takes "
                    f"({MAX_SIZE})"
                )
            if resume is None:
                resume = UploadResume(target, chunk, size)
                if isinstance(source, _Stream):
                    resume._stream, resume._source = source, file
            elif isinstance(source, _Stream) and resume._stream is None:
                raise ApiValueError(f"{where}: resume is for a file, not a stream")
            elif resume._size != size:
                raise ApiValueError(
                    f"{where}: resume is for a source of {resume._size} bytes, this one has {size}"
                )
            if video_id is not None:
                resume._video_id = video_id
            job = _Upload(self.api_client, resume, source, callbacks, part_retries, options)
            try:
                if isinstance(source, _File):
                    response = job.send_file(source, chunk, concurrency)
                else:
                    response = job.send_stream(source, chunk)
            except _PartFailed as failed:
                raise job.failure(failed, resume) from failed.cause
        resume._done = True
        total = sum(resume._acked.values())
        for callback in callbacks:
            callback(total, total)
        whole = options.get("_return_http_data_only") is False  # the ApiResponse, not its body
        return cast("Video", response if whole else response.body)


class ProgressiveSession:
    """Sends a video's source a part at a time as you have them: ``upload_part(file)`` for
    each, then ``upload_last_part(file)`` for the video. A part is a source as for ``upload``,
    5 to 128 MiB but the last; one failing on a connection error, a timeout or a 5xx is sent
    again (``part_retries``); if it finally fails, calling the method again sends it again."""

    def __init__(
        self,
        api: ChunkedUploads,
        video_id: Optional[str],
        token: Optional[str],
        part_retries: int = 3,
    ) -> None:
        _check_int(part_retries, "part_retries", 0)
        self.api: ChunkedUploads = api
        self.video_id: Optional[str] = video_id
        self.token: Optional[str] = token
        self.part_retries: int = part_retries
        self.current_part: int = 1
        self._acked: dict[int, int] = {}
        self._tried: set[int] = set()  # parts that may have been taken, as for UploadResume
        self._done = False
        self._lock = threading.Lock()

    def upload_part(self, file: UploadSource, **options: Unpack[CallOptions]) -> Video:
        """Send the next part (not the last one)."""
        return self._part(file, False, options)

    def upload_last_part(self, file: UploadSource, **options: Unpack[CallOptions]) -> Video:
        """Send the last part; the answer is the video."""
        return self._part(file, True, options)

    uploadPart = upload_part  # api.video's client's names
    uploadLastPart = upload_last_part

    def _part(self, file: Any, last: bool, options: Mapping[str, Any]) -> Video:
        target = ("video", self.video_id or "") if self.token is None else ("token", self.token)
        where = f"{_endpoint(target)[0].name} ({'last ' if last else ''}part {self.current_part})"
        unknown = set(options) - _OPTIONS
        if unknown:
            raise ApiTypeError(f"{where}: unexpected keyword argument {min(unknown)!r}")
        _refuse_raw(options, where)
        if self._done:
            raise ApiValueError(f"{where}: the session's last part was sent already")
        with _open(file, f"{where}: file") as source:
            # A stream's part is held whole: its size goes in Content-Length.
            try:
                size = (
                    source.size if isinstance(source, _File) else source.read_chunk(MAX_CHUNK_SIZE)
                )
            except _Unreadable as error:  # nothing sent: the session stays on this part
                raise ApiValueError(f"{where}: file: {error}") from error
            if size == 0:  # only a stream can be empty here
                raise ApiValueError(f"{where}: file: the stream is empty")
            if isinstance(source, _Stream) and not source.last:
                raise ApiValueError(f"{where}: a part is at most {MAX_CHUNK_SIZE} bytes")
            if size > MAX_CHUNK_SIZE or (not last and size < MIN_CHUNK_SIZE):
                raise ApiValueError(
                    f"{where}: a {'last ' if last else ''}part must be from "
                    f"{1 if last else MIN_CHUNK_SIZE} to {MAX_CHUNK_SIZE} bytes, got {size}"
                )
            with self._lock:
                state = UploadResume(target, MAX_CHUNK_SIZE, None)
                state._video_id = self.video_id
                state._acked, state._tried = self._acked, self._tried  # the session's, shared
                job = _Upload(self.api.api_client, state, source, [], self.part_retries, options)
                try:
                    response = job.send(self.current_part, size, last)
                except _PartFailed as failed:  # the session stays on this part: call again
                    raise job.failure(failed, None) from failed.cause
                self.video_id, self._done = state._video_id, last
                self.current_part += 1
        whole = options.get("_return_http_data_only") is False  # the ApiResponse, not its body
        return cast("Video", response if whole else response.body)


__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "MAX_CHUNK_SIZE",
    "MAX_SIZE",
    "MIN_CHUNK_SIZE",
    "ChunkedUploads",
    "ProgressiveSession",
    "UploadError",
    "UploadResume",
]
