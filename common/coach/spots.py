"""A class's places in the room: who is who in group mode is where they stand.

Spots are numbered left to right as the class starts (the people first seen together are ordered
by where their hips are). A person keeps their spot while they are followed; when they are lost
(they left, or someone walked in front of them) the spot stays theirs, vacant, at its last place.
Someone who appears within `reach` of their own height from a vacant spot, from where its person
was last seen or from where they mostly stood, takes it back (they returned); anyone else is a
late joiner and gets the next number. Pure logic: positions in, spots
out, no time, no pictures.
"""
from __future__ import annotations

from dataclasses import dataclass, field


HOME_RATE = 0.02  # per reading: a spot's home follows its person over tens of seconds, not a walk of a few


@dataclass
class SpotBook:
    max_people: int = 4
    reach: float = 0.5  # a newcomer within this many of their body heights of a vacant spot takes it
    places: dict = field(default_factory=dict)  # spot -> last mid-hip x (pixels)
    homes: dict = field(default_factory=dict)  # spot -> where its person mostly stands (slow average of x)
    taken: set = field(default_factory=set)

    def claim(self, newcomers: list[tuple[float, float]]) -> list[int | None]:
        """Spots for the people first seen on this frame, given as (mid-hip x, body height) in
        pixels; None for one beyond `max_people` followed at once."""
        out: list[int | None] = [None] * len(newcomers)
        for i in sorted(range(len(newcomers)), key=lambda k: newcomers[k][0]):  # left to right
            x, height = newcomers[i]
            if len(self.taken) >= self.max_people:
                continue
            vacant = [s for s in self.places if s not in self.taken]
            near = min(vacant, key=lambda s: self._gap(s, x), default=None)
            if near is not None and self._gap(near, x) <= self.reach * height:
                spot = near
            else:
                spot = max(self.places, default=0) + 1
                self.homes[spot] = x
            self.places[spot] = x
            self.taken.add(spot)
            out[i] = spot
        return out

    def _gap(self, spot: int, x: float) -> float:
        """How far x is from a vacant spot: from where its person was last seen, or from where they
        mostly stood (someone who walked behind a neighbour is lost beside them and comes back home)."""
        return min(abs(self.places[spot] - x), abs(self.homes.get(spot, self.places[spot]) - x))

    def move(self, spot: int, x: float) -> None:
        self.places[spot] = x
        home = self.homes.setdefault(spot, x)
        self.homes[spot] = home + HOME_RATE * (x - home)

    def leave(self, spot: int) -> None:
        """The person at `spot` is no longer followed; the spot stays theirs, vacant."""
        self.taken.discard(spot)


def spot_name(spot: int, roster: dict[int, str] | None = None, locale: str = "ko") -> str:
    """What a spot is called: the center's name for it (the roster), else "1번" / "No. 1"."""
    if roster and spot in roster:
        return roster[spot]
    return f"{spot}번" if locale == "ko" else f"No. {spot}"
