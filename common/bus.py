"""Publisher and Subscriber over ZeroMQ PUB/SUB, speaking common.messages.

Wire format: multipart [topic, msgpack header] or, for frames, [topic, header, raw pixels].
CONFLATE ignores multipart messages, so latest-only topics are kept small by a send/receive
high-water mark of 2 and by draining whatever is queued on each receive.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import zmq

from common import messages, topics

log = logging.getLogger(__name__)

# Hard ceiling for any one message part; a 4K BGR frame is 25 MB.
MAX_MESSAGE_BYTES = 64 * 1024 * 1024


def _tune(sock: zmq.Socket) -> None:
    sock.setsockopt(zmq.LINGER, 0)
    # Reconnect quickly after a peer restarts, back off to 1 s while it stays away.
    sock.setsockopt(zmq.RECONNECT_IVL, 50)
    sock.setsockopt(zmq.RECONNECT_IVL_MAX, 1000)


class Publisher:
    """Binds this service's endpoint and publishes any registered message on it."""

    def __init__(self, ctx: zmq.Context, endpoint: str, latest_only: bool = False):
        self.sock = ctx.socket(zmq.PUB)
        _tune(self.sock)
        self.sock.setsockopt(zmq.SNDHWM, topics.LATEST_ONLY_HWM if latest_only else topics.LOSSLESS_HWM)
        self.sock.bind(endpoint)
        self.endpoint = endpoint
        self._seq: dict[str, int] = {}

    def next_seq(self, topic: str) -> int:
        self._seq[topic] = self._seq.get(topic, -1) + 1
        return self._seq[topic]

    def publish(self, msg) -> None:
        topic = msg.TOPIC.encode()
        header = messages.encode(msg)
        if msg.TOPIC == "frame":
            # copy=False hands the numpy buffer to libzmq without a copy.
            self.sock.send_multipart([topic, header, msg.pixels], copy=False)
        else:
            self.sock.send_multipart([topic, header])

    def close(self) -> None:
        self.sock.close(linger=0)


@dataclass
class RateLimitedLog:
    """At most one log line per `every_s` per key, with how many were suppressed."""

    every_s: float = 10.0
    _last: dict = field(default_factory=dict)
    _suppressed: dict = field(default_factory=dict)

    def warn(self, key: str, text: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        if now - self._last.get(key, -1e9) >= self.every_s:
            extra = self._suppressed.pop(key, 0)
            log.warning("%s%s", text, f" ({extra} more like this not shown)" if extra else "")
            self._last[key] = now
        else:
            self._suppressed[key] = self._suppressed.get(key, 0) + 1


class Subscriber:
    """Connects to the publishers of `wanted` topics. `receive()` returns decoded messages:
    every message of a lossless topic in order, and only the newest of each latest-only topic.

    Malformed messages are dropped, counted in `malformed` and logged (rate-limited).
    Skipped latest-only messages and sequence gaps are counted in `dropped`.
    """

    def __init__(self, ctx: zmq.Context, endpoints: dict[str, str], wanted: list[str],
                 latest_only: set[str] | None = None):
        self.latest_only = {t for t in wanted if topics.TOPICS[t].latest_only} if latest_only is None else set(latest_only)
        self.poller = zmq.Poller()
        self.socks: list[zmq.Socket] = []
        by_service: dict[str, list[str]] = {}
        for t in wanted:
            for svc in topics.publishers_of(t):
                by_service.setdefault(svc, []).append(t)
        for svc, svc_topics in by_service.items():
            sock = ctx.socket(zmq.SUB)
            _tune(sock)
            only_latest = all(t in self.latest_only for t in svc_topics)
            sock.setsockopt(zmq.RCVHWM, topics.LATEST_ONLY_HWM if only_latest else topics.LOSSLESS_HWM)
            sock.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
            for t in svc_topics:
                sock.setsockopt(zmq.SUBSCRIBE, t.encode())
            sock.connect(endpoints[svc])
            self.poller.register(sock, zmq.POLLIN)
            self.socks.append(sock)
        self.malformed = 0
        self.dropped = 0
        self._last_seq: dict[tuple[str, str], int] = {}
        self._log = RateLimitedLog()

    def receive(self, timeout_ms: int) -> list:
        """Wait up to timeout_ms for traffic, then drain everything queued."""
        ready = dict(self.poller.poll(timeout_ms))
        lossless: list = []
        newest: dict[str, object] = {}
        for sock in self.socks:
            if sock not in ready:
                continue
            while True:
                try:
                    parts = sock.recv_multipart(zmq.NOBLOCK, copy=False)
                except zmq.Again:
                    break
                msg = self._decode(parts)
                if msg is None:
                    continue
                if msg.TOPIC in self.latest_only:
                    if msg.TOPIC in newest:
                        self.dropped += 1
                    newest[msg.TOPIC] = msg
                else:
                    lossless.append(msg)
        return lossless + list(newest.values())

    def _decode(self, parts):
        topic = bytes(parts[0].buffer).decode("utf-8", "replace") if parts else ""
        try:
            if len(parts) not in (2, 3):
                raise messages.MalformedMessage(f"{topic or '?'}: {len(parts)} message parts")
            pixels = parts[2].buffer if len(parts) == 3 else None
            msg = messages.decode(topic, parts[1].bytes, pixels)
        except messages.MalformedMessage as exc:
            self.malformed += 1
            self._log.warn(topic, f"dropped a bad message: {exc} (total dropped as bad: {self.malformed})")
            return None
        self._count_gap(msg)
        return msg

    def _count_gap(self, msg) -> None:
        # Health comes from many services; key sequences by (topic, sender).
        key = (msg.TOPIC, getattr(msg, "service", ""))
        last = self._last_seq.get(key)
        if last is not None and msg.seq > last + 1:
            self.dropped += msg.seq - last - 1
        self._last_seq[key] = msg.seq

    def close(self) -> None:
        for sock in self.socks:
            sock.close(linger=0)
