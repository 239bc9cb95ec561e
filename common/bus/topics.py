"""Topic registry: who publishes each topic, how often, and whether it may be dropped.

Every service binds one PUB endpoint of its own (config `bus.endpoints[service]`) and publishes
all its topics there; subscribers connect. Publishers bind because each topic has exactly one
publisher, while a topic may have several subscribers; ZeroMQ's connect side reconnects by itself,
so any one service can restart alone and the graph heals (see docs/messages.md).
"""
from __future__ import annotations

from dataclasses import dataclass

SERVICES = ("camera", "inference", "scoring", "renderer", "uplink")


@dataclass(frozen=True)
class Topic:
    name: str
    publisher: str  # service that binds the endpoint this topic is published on
    rate_hz: float  # expected rate; 0 = event-driven
    latest_only: bool  # True: a slow subscriber gets only the newest, the rest are dropped and counted
    has_pixels: bool = False


TOPICS: dict[str, Topic] = {
    t.name: t
    for t in (
        Topic("frame", "camera", 30.0, latest_only=True, has_pixels=True),
        Topic("pose", "inference", 30.0, latest_only=False),
        Topic("score", "scoring", 30.0, latest_only=False),
        Topic("session", "scoring", 0.0, latest_only=False),
        Topic("alert", "scoring", 0.0, latest_only=False),
        Topic("control", "renderer", 0.0, latest_only=False),
        Topic("delivery", "uplink", 0.0, latest_only=False),
        # Every service publishes its own health on its own endpoint.
        Topic("health", "*", 0.5, latest_only=False),
    )
}

# Send high-water marks. Latest-only: a few frames toward each subscriber at most (its conflating
# socket empties that queue as fast as the network delivers). Lossless: ~30 s at full rate.
LATEST_ONLY_HWM = 4
LOSSLESS_HWM = 1000


def publishers_of(topic: str) -> tuple[str, ...]:
    owner = TOPICS[topic].publisher
    return SERVICES if owner == "*" else (owner,)
