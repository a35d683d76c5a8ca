"""Webhook deliveries of the emulator: signed as api.video signs them, sent from a thread.

Kept apart from request handling so that a slow or failing receiver never delays an answer:
events go to a queue, and one daemon thread POSTs them, retrying a bounded number of times.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import queue
import threading
from dataclasses import dataclass, field
from typing import Any, Dict, List, Tuple
from urllib.parse import urlsplit

ATTEMPTS = 3  # a delivery is tried this many times in all
BACKOFF = 0.05  # seconds before the first retry, doubled for each next one
TIMEOUT = 2.0  # seconds a receiver has to answer
MAX_KEPT = 1000  # the newest deliveries kept for inspection


def signature(body: bytes, secret: str) -> str:
    """The X-Api-Video-Signature of a body: HMAC-SHA256 with the webhook's secret, in hex."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def loopback_url(url: str) -> bool:
    """Whether a webhook URL is http(s) on a loopback address, the only ones served."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return False
    if parts.scheme not in ("http", "https"):
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class Delivery:
    """One event sent to one webhook: what went, and how the receiver answered."""

    webhook_id: str
    url: str
    event: Dict[str, Any]
    body: bytes
    headers: Dict[str, str]
    statuses: List[int] = field(default_factory=list)  # one per attempt; 0: no answer

    @property
    def status(self) -> int:
        """The last attempt's status (0 if none was received)."""
        return self.statuses[-1] if self.statuses else 0

    @property
    def delivered(self) -> bool:
        return 200 <= self.status < 300


class Deliverer:
    """A queue of deliveries and the thread that sends them."""

    def __init__(self) -> None:
        self._queue: queue.Queue[Delivery | None] = queue.Queue()
        self._done: List[Delivery] = []
        self._changed = threading.Condition()
        self._pending = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def send(self, webhooks: List[Tuple[str, str, str]], event: Dict[str, Any]) -> None:
        """Queue ``event`` for each ``(webhook id, url, secret)``."""
        if not webhooks:
            return
        body = json.dumps(event, separators=(",", ":")).encode()
        with self._changed:
            if self._thread is None:  # the first event, or the first since a stop()
                self._queue, self._stop = queue.Queue(), threading.Event()
                self._thread = threading.Thread(
                    target=self._run,
                    args=(self._queue, self._stop),
                    name="video-api-emulator-webhooks",
                    daemon=True,
                )
                self._thread.start()
            self._pending += len(webhooks)
            work = self._queue
        for webhook_id, url, secret in webhooks:
            headers = {
                "Content-Type": "application/json",
                "X-Api-Video-WebhookID": webhook_id,
                "X-Api-Video-Signature": signature(body, secret),
            }
            work.put(Delivery(webhook_id, url, event, body, headers))

    @property
    def deliveries(self) -> List[Delivery]:
        with self._changed:
            return list(self._done)

    def wait(self, count: int, timeout: float) -> List[Delivery]:
        """The finished deliveries once there are ``count`` (or the timeout passed)."""
        with self._changed:
            self._changed.wait_for(lambda: len(self._done) >= count, timeout)
            return list(self._done)

    def idle(self, timeout: float) -> bool:
        """Wait until nothing is queued or being sent."""
        with self._changed:
            return self._changed.wait_for(lambda: self._pending == 0, timeout)

    def stop(self) -> None:
        """Send what is queued, without retries, and end the thread; the next ``send`` starts
        a new one (an emulator started again delivers again)."""
        with self._changed:
            thread, self._thread = self._thread, None
            work, stop = self._queue, self._stop
        stop.set()
        if thread is not None:
            work.put(None)
            thread.join(timeout=ATTEMPTS * (TIMEOUT + BACKOFF * 4))

    def _run(self, work: queue.Queue[Delivery | None], stop: threading.Event) -> None:
        while True:
            delivery = work.get()
            if delivery is None:
                return
            delay = BACKOFF
            for attempt in range(ATTEMPTS):
                delivery.statuses.append(self._post(delivery))
                if delivery.delivered or attempt == ATTEMPTS - 1 or stop.wait(delay):
                    break
                delay *= 2
            with self._changed:
                self._done.append(delivery)
                del self._done[:-MAX_KEPT]
                self._pending -= 1
                self._changed.notify_all()

    @staticmethod
    def _post(delivery: Delivery) -> int:
        parts = urlsplit(delivery.url)
        kind = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        connection = kind(parts.hostname or "127.0.0.1", parts.port, timeout=TIMEOUT)
        target = (parts.path or "/") + ("?" + parts.query if parts.query else "")
        try:
            connection.request("POST", target, delivery.body, delivery.headers)
            response = connection.getresponse()
            response.read()
            return response.status
        except (OSError, http.client.HTTPException):
            return 0
        finally:
            connection.close()
