"""Publisher and Subscriber over ZeroMQ PUB/SUB, speaking common.bus.messages' one-part wire format.

Latest-only subscriptions get a SUB socket of their own with ZMQ_CONFLATE: its inbound queue
holds only the newest message, so a slow consumer never reads an old frame and the publisher's
queue toward it never fills. (Measured before choosing: with two-part messages, which CONFLATE
does not support, a full PUB queue drops the *newest* frames and a drained subscriber still gets
one that is several frames old.) Lossless subscriptions share one socket per publisher with a
high-water mark of LOSSLESS_HWM.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import time
from dataclasses import dataclass, field

import zmq

from common.bus import messages, topics
from common.bus.framering import FrameRingReader, RingError, ring_path, ring_pointer

log = logging.getLogger(__name__)

# Hard ceiling for any one message part; a 4K BGR frame is 25 MB.
MAX_MESSAGE_BYTES = 64 * 1024 * 1024


def _tune(sock: zmq.Socket) -> None:
    sock.setsockopt(zmq.LINGER, 0)
    # Reconnect quickly after a peer restarts, back off to 1 s while it stays away.
    sock.setsockopt(zmq.RECONNECT_IVL, 50)
    sock.setsockopt(zmq.RECONNECT_IVL_MAX, 1000)



MAX_PLAUSIBLE_GAP = 1_000_000  # more than a day of frames at 10 fps
MAX_COUNTER = 2**31 - 1  # counters saturate instead of growing past what Health can carry

class Publisher:
    """Binds this service's endpoint and publishes any registered message on it."""

    def __init__(self, ctx: zmq.Context, endpoint: str, latest_only: bool = False):
        self.sock = ctx.socket(zmq.PUB)
        _tune(self.sock)
        # A conflating subscriber empties its queue at once, so a small send queue never blocks
        # frames; the bound only keeps memory flat toward a peer that is gone.
        self.sock.setsockopt(zmq.SNDHWM, topics.LATEST_ONLY_HWM if latest_only else topics.LOSSLESS_HWM)
        self.sock.bind(endpoint)
        if endpoint.startswith("ipc://"):
            os.chmod(endpoint[len("ipc://"):], 0o600)  # the service user's only (its folder is 0700 too)
        self.endpoint = endpoint
        self._seq: dict[str, int] = {}

    def next_seq(self, topic: str) -> int:
        self._seq[topic] = self._seq.get(topic, -1) + 1
        return self._seq[topic]

    def publish(self, msg) -> None:
        data = messages.to_wire(msg)
        # copy=False hands a frame's buffer to libzmq as is; small messages are cheaper copied.
        self.sock.send(data, copy=len(data) < 65536)

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
        lossless_by_service: dict[str, list[str]] = {}
        for t in wanted:
            for svc in topics.publishers_of(t):
                if t in self.latest_only:
                    self._open(ctx, endpoints[svc], [t], conflate=True)
                else:
                    lossless_by_service.setdefault(svc, []).append(t)
        # Upstream first (topics.SERVICES is the pipeline's order): a batch is taken from the camera
        # before inference, so what the camera said before a frame (a recorded participant's video
        # ended) is read before that frame's pose. Taken inference first, scoring scored 1-11
        # pictures held past the video's end before hearing of it (run --once vs score, under load).
        for svc in sorted(lossless_by_service, key=topics.SERVICES.index):
            self._open(ctx, endpoints[svc], lossless_by_service[svc], conflate=False)
        # A frame whose pixels are in the camera's ring is read there (common/bus/framering.py).
        self.ring = FrameRingReader(ring_path(endpoints["camera"]), pointer=ring_pointer(endpoints["camera"])) if "frame" in wanted else None
        self.malformed = 0
        self.dropped = 0
        self._last_seq: dict[tuple[str, str], int] = {}
        self._log = RateLimitedLog()

    def _open(self, ctx, endpoint: str, subscribe: list[str], conflate: bool) -> None:
        sock = ctx.socket(zmq.SUB)
        _tune(sock)
        if conflate:
            sock.setsockopt(zmq.CONFLATE, 1)
        else:
            sock.setsockopt(zmq.RCVHWM, topics.LOSSLESS_HWM)
        sock.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
        for t in subscribe:
            sock.setsockopt(zmq.SUBSCRIBE, t.encode() + b"\x00")
        sock.connect(endpoint)
        self.poller.register(sock, zmq.POLLIN)
        self.socks.append(sock)

    def receive(self, timeout_ms: int) -> list:
        """Wait up to timeout_ms for traffic, then take everything queued."""
        ready = dict(self.poller.poll(timeout_ms))
        lossless: list = []
        newest: dict[str, object] = {}
        for sock in self.socks:
            if sock not in ready:
                continue
            while True:
                try:
                    part = sock.recv(zmq.NOBLOCK, copy=False)
                except zmq.Again:
                    break
                if part.more:  # our messages are one part; take the rest of this one and drop it
                    while sock.recv(copy=False).more:
                        pass
                    self._bad("?", "a multipart message (this bus sends one part per message)")
                    continue
                msg = self._decode(part)
                if msg is None:
                    continue
                if msg.TOPIC in self.latest_only:
                    newest[msg.TOPIC] = msg
                else:
                    lossless.append(msg)
        return lossless + list(newest.values())

    def _decode(self, part):
        try:
            msg = messages.from_wire(part.buffer)
        except messages.MalformedMessage as exc:
            self._bad(str(exc).split(":")[0], str(exc))
            return None
        self._count_gap(msg)
        if msg.TOPIC == "frame" and msg.ring_id:
            return self._from_ring(msg)
        return msg

    def _from_ring(self, frame):
        """The frame with its pixels read in place from the camera's ring; None (counted as
        dropped) when the ring no longer holds it or cannot be read."""
        try:
            pixels = self.ring.pixels(frame.ring_id, frame.ring_slot, frame.seq)
        except RingError as exc:
            self._log.warn("ring", f"{exc}: frames are dropped until it can be read (is the camera service "
                                   "running as the same user?)")
            pixels = None
        if pixels is None or pixels.shape != (frame.height, frame.width, 3):
            self.dropped = min(self.dropped + 1, MAX_COUNTER)
            return None
        return dataclasses.replace(frame, pixels=pixels)

    def still_holds(self, frame) -> bool:
        """After using a frame's pixels: whether they were still that frame's all along (a frame
        in the ring is overwritten SLOTS frames later; one that was is dropped and counted)."""
        if not frame.ring_id or self.ring is None or self.ring.holds(frame.ring_slot, frame.seq):
            return True
        self.dropped = min(self.dropped + 1, MAX_COUNTER)
        return False

    def _bad(self, key: str, what: str) -> None:
        self.malformed += 1
        self._log.warn(key, f"dropped a bad message: {what} (bad messages so far: {self.malformed}); "
                            "a publisher of another version or a stray program is on the bus")

    def _count_gap(self, msg) -> None:
        # Health comes from many services; key sequences by (topic, sender).
        key = (msg.TOPIC, getattr(msg, "service", ""))
        last = self._last_seq.get(key)
        # A gap counts as lost messages; a sequence that goes back or leaps implausibly far is a
        # restarted (or stray) sender: start counting again rather than add an absurd number.
        if last is not None and last + 1 < msg.seq <= last + MAX_PLAUSIBLE_GAP:
            self.dropped = min(self.dropped + msg.seq - last - 1, MAX_COUNTER)
        self._last_seq[key] = msg.seq

    def close(self) -> None:
        for sock in self.socks:
            sock.close(linger=0)
        if self.ring is not None:
            self.ring.close()
