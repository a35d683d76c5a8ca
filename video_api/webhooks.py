"""The receiving side of api.video's webhooks: check the signature, then read the event.

api.video signs each call with ``X-Api-Video-Signature``, the hex HMAC-SHA256 of the raw body
keyed with the webhook's ``signatureSecret``. Verify the bytes as received, before parsing
(re-encoded JSON would not match): ``event = parse_event(body, request_headers, secret)``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, Mapping, Optional, Union

from .exceptions import ApiTypeError, ApiValueError
from .schemas import Model, field

__all__ = ["WebhookEvent", "WebhookSignatureError", "parse_event", "verify"]

SIGNATURE_HEADER = "X-Api-Video-Signature"
WEBHOOK_ID_HEADER = "X-Api-Video-WebhookID"


class WebhookSignatureError(ApiValueError):
    """A webhook call that cannot be trusted or read; the message names the problem only."""


class WebhookEvent(Model):
    """One event of the spec's ``x-webhooks``; fields an event does not carry are unset, and
    fields api.video adds later are kept (read them as ``event["name"]``)."""

    type: Final[Optional[str]] = field("type", str, description="The event's name.")
    emitted_at: Final[Optional[datetime]] = field(
        "emittedAt", datetime, description="When the event occurred."
    )
    video_id: Final[Optional[str]] = field("videoId", str, description="The video concerned.")
    live_stream_id: Final[Optional[str]] = field(
        "liveStreamId", str, description="The live stream concerned."
    )
    encoding: Final[Optional[str]] = field(
        "encoding", str, description="hls or mp4 (video.encoding.quality.completed)."
    )
    quality: Final[Optional[str]] = field(
        "quality", str, description="240p to 1080p (video.encoding.quality.completed)."
    )
    caption_id: Final[Optional[str]] = field(
        "captionId", str, description="The caption generated (video.caption.generated)."
    )
    generation_mode: Final[Optional[str]] = field(
        "generationMode", str, description="How the caption was made (video.caption.generated)."
    )
    language: Final[Optional[str]] = field(
        "language", str, description="The caption's language (video.caption.generated)."
    )
    summary_id: Final[Optional[str]] = field(
        "summaryId", str, description="The summary generated (video.summary.generated)."
    )
    webhook_id: Final[Optional[str]] = field(
        "webhookId", str, description="The webhook it came through (from its header)."
    )

    if TYPE_CHECKING:

        def __init__(
            self,
            _data: Optional[Mapping[str, Any]] = None,
            /,
            *,
            type: str = ...,
            emitted_at: datetime = ...,
            video_id: str = ...,
            live_stream_id: str = ...,
            encoding: str = ...,
            quality: str = ...,
            caption_id: str = ...,
            generation_mode: str = ...,
            language: str = ...,
            summary_id: str = ...,
            webhook_id: str = ...,
        ) -> None: ...


#: What a webhook call's headers may be: a mapping (or anything with ``items()``, as
#: ``http.server``'s), its names and values str or bytes (as ASGI servers give them).
_Headers = Union[Mapping[str, Union[str, bytes]], Mapping[bytes, bytes]]


def verify(
    body: Union[bytes, bytearray, memoryview],
    signature: Union[str, bytes, None],
    secret: Union[str, bytes],
) -> bool:
    """Whether ``signature`` is the HMAC-SHA256 of ``body`` with ``secret`` (in constant time);
    False for a missing signature (None) or an empty secret. ``ApiTypeError`` for a wrong type."""
    data, key = _body(body), _key(secret)
    if isinstance(signature, str):
        signature = signature.encode("ascii", "replace")  # no hex digest has other characters
    elif signature is not None and not isinstance(signature, (bytes, bytearray)):
        raise ApiTypeError(f"signature must be str or bytes, got {type(signature).__name__}")
    if signature is None or not key:
        return False
    expected = hmac.new(key, data, hashlib.sha256).hexdigest().encode()
    return hmac.compare_digest(expected, bytes(signature).strip().lower())


def _body(body: object) -> bytes:
    """The raw body as bytes; ``ApiTypeError`` for text or anything else."""
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body)
    if isinstance(body, str):
        raise ApiTypeError(
            "body must be the raw bytes as received, not str: the signature is of those bytes"
        )
    raise ApiTypeError(f"body must be bytes, bytearray or memoryview, got {type(body).__name__}")


def _key(secret: object) -> bytes:
    """The secret as bytes; its type, never its value, in the error."""
    if isinstance(secret, str):
        return secret.encode()
    if isinstance(secret, (bytes, bytearray)):
        return bytes(secret)
    raise ApiTypeError(f"secret must be str or bytes, got {type(secret).__name__}")


def _header(headers: _Headers, name: str) -> Union[str, bytes, None]:
    """A header by name, whatever the case of the mapping's keys and whether they are bytes."""
    if not callable(getattr(headers, "items", None)):
        raise ApiTypeError(
            f"headers must be a mapping of names to values, got {type(headers).__name__}"
        )
    for key, value in headers.items():
        if isinstance(key, bytes):
            key = key.decode("latin-1")
        if isinstance(key, str) and key.lower() == name.lower():
            return value
    return None


def parse_event(
    body: Union[bytes, bytearray, memoryview], headers: _Headers, secret: Union[str, bytes]
) -> WebhookEvent:
    """Verify a webhook call (raw body, its headers, the webhook's secret) and return its event;
    ``WebhookSignatureError`` if the signature is missing or wrong, or the body is no event;
    ``ApiTypeError`` if an argument has the wrong type (a str body: pass the bytes received)."""
    data, key = _body(body), _key(secret)
    signature = _header(headers, SIGNATURE_HEADER)
    if signature is None:
        raise WebhookSignatureError(f"the webhook call has no {SIGNATURE_HEADER} header")
    if not verify(data, signature, key):
        raise WebhookSignatureError(
            f"the {SIGNATURE_HEADER} header does not match the body: the secret is not this "
            "webhook's, or the body was changed"
        )
    try:
        event = json.loads(data)
    except ValueError:
        raise WebhookSignatureError("the webhook body is not JSON") from None
    except RecursionError:
        raise WebhookSignatureError("the webhook body is JSON nested too deeply") from None
    if not isinstance(event, dict):
        raise WebhookSignatureError("the webhook body is not a JSON object")
    webhook_id = _header(headers, WEBHOOK_ID_HEADER)
    if webhook_id is not None:
        text = webhook_id.decode("latin-1") if isinstance(webhook_id, bytes) else webhook_id
        event.setdefault("webhookId", text)
    try:
        return WebhookEvent._from_wire(event)  # as a response: unknown fields are kept
    except (TypeError, ValueError) as error:
        raise WebhookSignatureError(f"the webhook event is malformed: {error}") from None
