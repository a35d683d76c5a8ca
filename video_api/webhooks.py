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
from typing import TYPE_CHECKING, Any, Final, Mapping, Optional

from .exceptions import ApiValueError
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


def verify(body: bytes, signature: str, secret: str) -> bool:
    """Whether ``signature`` is the HMAC-SHA256 of ``body`` with ``secret`` (in constant time)."""
    if not isinstance(body, (bytes, bytearray, memoryview)) or not secret:
        return False
    expected = hmac.new(secret.encode(), bytes(body), hashlib.sha256).hexdigest().encode()
    return hmac.compare_digest(expected, signature.strip().lower().encode("ascii", "replace"))


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by name, whatever the case of the mapping's keys."""
    value = headers.get(name)
    if value is None:
        value = next((v for k, v in headers.items() if k.lower() == name.lower()), None)
    return value


def parse_event(body: bytes, headers: Mapping[str, str], secret: str) -> WebhookEvent:
    """Verify a webhook call (raw body, its headers, the webhook's secret) and return its event;
    ``WebhookSignatureError`` if the signature is missing or wrong, or the body is no event."""
    signature = _header(headers, SIGNATURE_HEADER)
    if signature is None:
        raise WebhookSignatureError(f"the webhook call has no {SIGNATURE_HEADER} header")
    if not verify(body, signature, secret):
        raise WebhookSignatureError(
            f"the {SIGNATURE_HEADER} header does not match the body: the secret is not this "
            "webhook's, or the body was changed"
        )
    try:
        data = json.loads(body)
    except ValueError:
        raise WebhookSignatureError("the webhook body is not JSON") from None
    if not isinstance(data, dict):
        raise WebhookSignatureError("the webhook body is not a JSON object")
    webhook_id = _header(headers, WEBHOOK_ID_HEADER)
    if webhook_id is not None:
        data.setdefault("webhookId", webhook_id)
    try:
        return WebhookEvent._from_wire(data)  # as a response: unknown fields are kept
    except (TypeError, ValueError) as error:
        raise WebhookSignatureError(f"the webhook event is malformed: {error}") from None
