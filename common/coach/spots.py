"""A class's places in the room: who is who in group mode is where they stand.

Spots are numbered left to right as the class starts, as the TV shows the class: the TV mirrors
the camera's picture, so its left is each member's own left as they face the TV (the camera
picture's right). The people who become members together as the class starts (within
START_GATHER_S of the first) are numbered so, and with them whoever is in place then with a
repetition done, not yet a member (their spot waits for them); a later arrival takes the next free number.

A person keeps their spot while they are followed; when they are lost (they left, or someone walked
in front of them) the spot stays theirs, vacant, at its last place. Someone who appears within
`reach` of their own height from a vacant spot, from where its person was last seen or from where
they stood still (its home, which a walk away does not move), takes it back (they returned);
anyone else is a late joiner and gets the next number; someone much larger or smaller than the
spot's person as usually read (nearer to or further from the camera: a passer-by in front of a
vacant spot) does not take it.

Who is in the class at all is ClassBook's: the people exercising. Someone followed becomes a member
by following the routine (MEMBER_REPS repetitions of its counted joints done in place, or for a routine without
repetitions, staying in place for a few seconds); a passer-by walking through, in front or behind,
or someone standing there watching, does not. Pure logic: positions and poses in, spots out.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from common.coach.geometry import joint_angles, joint_visibility
from common.coach.keypoints import COMMON_INDEX
from common.coach.reps import RepCounter


# A spot's home follows where its person stands still with this time constant (seconds of their
# readings, whatever the reading rate): someone shifting over a class moves it, a walk does not.
# Per reading (2 %) it followed the looping jumper of two_people_sports2d to the roof's edge before
# his flip (630 -> 770 px at every picture, 160 px from where he jumps): a returner's margin, gone.
HOME_S = 10.0
# Hips moving less than this many torso lengths a second over the last second: standing still (a
# jumping jack's hips barely move sideways); faster, they walk and their home stays where it was.
STILL_TORSOS_PER_S = 0.5


@dataclass
class SpotBook:
    max_people: int = 4
    reach: float = 0.5  # a newcomer within this many of their body heights of a vacant spot takes it
    places: dict = field(default_factory=dict)  # spot -> last mid-hip x (pixels)
    homes: dict = field(default_factory=dict)  # spot -> where its person stands still (slow average of x)
    taken: set = field(default_factory=set)
    heights: dict = field(default_factory=dict)  # spot -> its person's usual body height (pixels)
    moved_at: dict = field(default_factory=dict)  # spot -> the time of its home's last update
    # A vacant spot is not taken by someone more than this many times larger or smaller than its
    # person: nearer to or further from the camera, someone else (a passer-by in front of it).
    size_ratio: float = 1.6
    # The TV shows the camera's picture mirrored (services/renderer/screen.py), so spots are counted
    # from the picture's right: left to right on the TV. False: as the camera sees the room.
    mirrored: bool = True

    def claim(self, newcomers: list[tuple[float, float]]) -> list[int | None]:
        """Spots for the people who became members together (on this frame, or as the class
        started), given as (mid-hip x in the camera's picture, body height) in pixels; None for one
        beyond `max_people` followed at once. New numbers go left to right as the TV shows them."""
        out: list[int | None] = [None] * len(newcomers)
        for i in sorted(range(len(newcomers)), key=lambda k: -newcomers[k][0] if self.mirrored else newcomers[k][0]):
            x, height = newcomers[i]
            if len(self.taken) >= self.max_people:
                continue
            vacant = [s for s in self.places if s not in self.taken]
            spot = self.vacant_near(x, height)
            if spot is None:
                spot = max(self.places, default=0) + 1
                self.homes[spot] = x
            self.places[spot] = x
            self.heights[spot] = height
            self.taken.add(spot)
            out[i] = spot
        return out

    def vacant_near(self, x: float, height: float) -> int | None:
        """The vacant spot someone of this height at x takes back (they returned), else None."""
        def alike(s):
            h = self.heights.get(s, height)
            return max(h, height) <= self.size_ratio * max(min(h, height), 1e-6)
        vacant = [s for s in self.places if s not in self.taken and alike(s)]
        near = min(vacant, key=lambda s: self._gap(s, x), default=None)
        return near if near is not None and self._gap(near, x) <= self.reach * height else None

    def _gap(self, spot: int, x: float) -> float:
        """How far x is from a vacant spot: from where its person was last seen, or from where they
        mostly stood (someone who walked behind a neighbour is lost beside them and comes back home)."""
        return min(abs(self.places[spot] - x), abs(self.homes.get(spot, self.places[spot]) - x))

    def move(self, spot: int, x: float, height: float = 0.0, t: float | None = None, still: bool = True) -> None:
        """Its person seen at x, `height` their usual body height (0: unknown), at time t, standing
        still or not (walking: their home stays where they stood). Their usual height, not their
        largest: one misread torso (a flip read upside down: 1.55x his usual) made the spot's
        person larger than himself and, at 1.6x, a stranger to his own spot."""
        self.places[spot] = x
        if height > 0:
            self.heights[spot] = height
        home = self.homes.setdefault(spot, x)
        last = self.moved_at.get(spot)
        if t is not None:
            self.moved_at[spot] = t
        if not still or t is None or last is None or t <= last:
            return
        self.homes[spot] = home + (1.0 - float(np.exp(-(t - last) / HOME_S))) * (x - home)

    def leave(self, spot: int) -> None:
        """The person at `spot` is no longer followed; the spot stays theirs, vacant (their time away
        does not move its home when they are back)."""
        self.taken.discard(spot)
        self.moved_at.pop(spot, None)


# -- who is in the class ---------------------------------------------------------------------

MIN_SIZE_SHARE = 0.3  # a person smaller than this share of the largest followed is not a participant
# With no routine to tell who is exercising, size is all there is: a person on a TV screen or a
# poster at half size would otherwise be a member.
SIZE_SHARE_WITHOUT_ROUTINE = 0.4
TRAVEL_TORSOS_PER_S = 1.0  # hips moving faster than this (in their own torso lengths): walking, not exercising
RETURN_S = 1.0  # in place this long near their vacant spot: a member who came back (a passer-by is not in place)
# Repetitions of the routine, done in place, that make a member: following it for a few seconds.
# One was not enough: the knee bend of one jumping jack counted as a squat and made the person
# doing jacks beside a squat class a member (MoveNet, a composed class of real clips).
MEMBER_REPS = 2
SETTLE_S = 3.0
SWAP_RATIO = 1.3  # a member's torso suddenly this much longer than usual: the follower is on someone nearer
SWAP_READINGS = 3  # a routine without repetitions: this long in place makes a member
# As the class starts, whoever becomes a member within this long of the first is numbered with them,
# left to right on the TV, rather than in the order their second repetition came: a roster's names
# land on the people standing in its order. (Their readings wait meanwhile and are scored: ClassRoll.)
# The wait ends early when one of them walks (they may be leaving; lost before it ends, a member's
# first play of two_people_sports2d, read 8 a second, was never scored).
START_GATHER_S = 2.0
# ... and whoever is in place then with a repetition of the routine done (under way, slower to
# their second than the wait) has a spot numbered with them by place, kept until they are a member.
RESERVE = object()
MIN_SCORE = 0.3


def torso(common: np.ndarray) -> float:
    """The person's size in the picture, pixels: mid-shoulder to mid-hip, which a crouch or a chair
    does not shorten (0 when either is not seen)."""
    neck, hip = common[COMMON_INDEX["neck"]], common[COMMON_INDEX["mid_hip"]]
    if min(neck[2], hip[2]) < MIN_SCORE:
        return 0.0
    return float(np.hypot(*(neck[:2] - hip[:2])))


def centre_x(common: np.ndarray) -> float:
    seen = common[common[:, 2] >= MIN_SCORE]
    return float(np.median(seen[:, 0])) if len(seen) else float(common[:, 0].mean())


# Two readings of one picture whose necks and mid-hips are each within this share of the torso
# of each other are one body read twice (two followers on one person), not two people: a person
# behind another is hidden where their torsos would coincide, and one further back has a shorter
# torso. Measured (MoveNet, a composed room of two real squat clips): a second follower that slid
# from a chair onto a squatter read him within 0.10 of his torso on every picture; the two real
# people were 6.6 torsos apart or more.
SAME_BODY_TORSOS = 0.35


def same_body(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two readings (common keypoints, pixels) of one picture are one person's: both torsos
    seen and alike (within SWAP_RATIO), and the necks and the mid-hips each within SAME_BODY_TORSOS
    of the larger torso."""
    ta, tb = torso(a), torso(b)
    if min(ta, tb) <= 0 or max(ta, tb) > SWAP_RATIO * min(ta, tb):
        return False
    reach = SAME_BODY_TORSOS * max(ta, tb)
    return all(float(np.hypot(*(a[j, :2] - b[j, :2]))) <= reach
               for j in (COMMON_INDEX["neck"], COMMON_INDEX["mid_hip"]))


def hip_speed(hips, t: float) -> float | None:
    """How many of their torso lengths a second hips ((t, mid-hip x, torso) readings) moved over
    the last second; None when too few readings tell."""
    recent = [h for h in hips if h[0] >= t - 1.0]
    if len(recent) < 2 or recent[-1][0] - recent[0][0] < 0.3:
        return None
    size = max(h[2] for h in recent)
    return abs(recent[-1][1] - recent[0][1]) / (recent[-1][0] - recent[0][0]) / max(size, 1e-6)


def travelling(hips, t: float) -> bool:
    """Hips ((t, mid-hip x, torso) readings) moved more than TRAVEL_TORSOS_PER_S torso lengths a
    second over the last second."""
    speed = hip_speed(hips, t)
    return speed is not None and speed > TRAVEL_TORSOS_PER_S


def usual_torso(hips) -> float:
    """A person's usual torso from their (t, x, torso) readings: the median, which a few misread
    pictures (a flip, a neighbour passing in front) do not move; 0 with none."""
    return float(np.median([h[2] for h in hips])) if len(hips) else 0.0


@dataclass
class Tryout:
    """Someone followed who is not (yet) in the class: are they doing the routine, in place?
    Their repetitions are counted as a member's would be, but a stretch of walking (hips moving
    more than TRAVEL_TORSOS_PER_S of their torso a second) starts the count again: a stride swings
    the arms and bends the knees, and a passer-by is not exercising."""
    routine: object
    since: float
    counter: RepCounter | None = None
    hips: deque = field(default_factory=lambda: deque(maxlen=120))  # (t, mid-hip x, torso)
    still_since: float = 0.0

    def __post_init__(self):
        self.still_since = self.since
        self._new_counter()

    def _new_counter(self):
        r = self.routine
        self.counter = RepCounter(r.reps, r.rep_reference()) if r is not None and r.reps else None

    def update(self, t: float, common: np.ndarray) -> None:
        size = torso(common)
        hip = common[COMMON_INDEX["mid_hip"]]
        if size > 0 and hip[2] >= MIN_SCORE:
            self.hips.append((t, float(hip[0]), size))
        if self._travelling(t):
            self.still_since = t
            self._new_counter()
        if self.counter is not None:
            self.counter.update(t, joint_angles(common), joint_visibility(common))

    def _travelling(self, t: float) -> bool:
        return travelling(self.hips, t)

    def in_place(self, t: float) -> bool:
        """Followed for RETURN_S without walking: someone who came back to a spot, not one passing it."""
        return t - self.still_since >= RETURN_S

    def under_way(self) -> bool:
        """A repetition of the routine done in place since they stopped walking: one counted, or,
        as a first one is only counted with the next, one as deep as the counter's floor."""
        return self.counter is not None and (self.counter.count >= 1 or any(
            depth >= c.floor for c in self.counter.counters.values() for _, depth, _ in c.excursions))

    def exercising(self, t: float) -> bool:
        if self.routine is None:
            return True
        if self.counter is not None:
            return self.counter.count >= MEMBER_REPS
        return t - self.still_since >= SETTLE_S


@dataclass
class ClassBook:
    """Who of the people followed is in the class, and at which spot. `update(t, people)` with
    [(track, common keypoints in pixels)] of one picture gives {track: spot or None}. A track
    is the same person for as long as the pose model follows them; a track that is no longer
    given has left (their spot stays theirs, vacant). With no routine, everyone large enough
    followed for `probation_s` is a member (the class as it starts)."""
    routine: object = None
    max_people: int = 4
    probation_s: float = 0.5
    spots: SpotBook = field(default=None)
    tracks: dict = field(default_factory=dict)  # track -> spot (None: not a member)
    sizes: dict = field(default_factory=dict)  # track -> its largest torso so far
    tryouts: dict = field(default_factory=dict)  # track -> Tryout
    usual: dict = field(default_factory=dict)  # track -> its usual torso (slow average)
    grown: dict = field(default_factory=dict)  # track -> readings in a row far larger than usual
    first_seen: dict = field(default_factory=dict)  # track -> when it was first given
    paths: dict = field(default_factory=dict)  # member's track -> its last hips (t, x, torso)
    # track -> when it settled in place before it became a member (its Tryout's still_since): what
    # came before (walking in, away and back) is not the exercise and is not replayed (ClassRoll).
    settled: dict = field(default_factory=dict)
    # track (not a member) -> the spot of the member it read on the last picture: a second
    # follower on them, which is them when their own follower is lost.
    shadowing: dict = field(default_factory=dict)
    gather_s: float = START_GATHER_S
    gathering_since: float | None = None  # when the class's first member was ready (their spot waits)
    # track -> (x, settled) as they became ready while the class's first members gather: where they
    # exercised and since when (what comes after, a walk away, is neither their place nor replayed).
    gathered: dict = field(default_factory=dict)
    # track -> (spot, settled) of a gathered one lost on this picture: made a member as they went
    # (the gathering closed at once), so ClassRoll scores what made them one (the jumper leaving the
    # picture with his flip before the wait was over was never a member).
    left_members: dict = field(default_factory=dict)
    # Each track's body scale (BodyScales, defined below): a follower that slid onto someone else.
    scales: object = field(default_factory=lambda: BodyScales())
    # Spots numbered by place as the class started for people then in place and under way (a
    # repetition done) but not yet members: vacant, kept for whoever becomes a member there (the
    # roster names places; a squatter slower to his second squat than the gathering, a passer-by
    # hiding his neighbour meanwhile, got the next number and the roster's name of the spot beside).
    reserved: set = field(default_factory=set)
    _t: float = 0.0  # the time of the picture being read (_close_gathering)

    def __post_init__(self):
        if self.spots is None:
            self.spots = SpotBook(self.max_people)

    def update(self, t: float, people: list[tuple[int, np.ndarray]]) -> dict[int, int | None]:
        now = {track for track, _ in people}
        self.left_members, self._t = {}, t
        if any(k not in now for k in self.gathered):
            for track in [k for k in self._close_gathering() if k not in now and self.tracks.get(k) is not None]:
                self.left_members[track] = (self.tracks[track], self.settled.get(track, float("-inf")))
        for track in [k for k in self.tracks if k not in now]:
            self.forget(track)
        for track, common in people:
            size = max(self.sizes.get(track, 0.0), torso(common))
            self.sizes[track] = size
            spot = self.tracks.setdefault(track, None)
            hip = common[COMMON_INDEX["mid_hip"]]
            if spot is not None and torso(common) > 0 and hip[2] >= MIN_SCORE:
                self.paths.setdefault(track, deque(maxlen=120)).append((t, float(hip[0]), torso(common)))
            slid = self.scales.another_body(track, t, common, self.probation_s)
            if self._someone_else(track, t, torso(common)) or slid or spot is not None and travelling(self.paths.get(track, ()), t):
                # The follower slid onto someone else passing in front (nearer the camera, or of
                # another size: BodyScales), or this member walks (away, or the follower went with a
                # passer-by): not exercising here now. Their spot waits for them (back in place, they
                # take it again); the track starts over as a stranger.
                self.forget(track)
                self.tracks[track], self.sizes[track] = None, torso(common)
                spot = None
            if spot is not None:
                path = self.paths.get(track, ())
                speed = hip_speed(path, t)
                self.spots.move(spot, centre_x(common), 3 * (usual_torso(path) or size), t,
                                still=speed is not None and speed < STILL_TORSOS_PER_S)
            else:
                self.tryouts.setdefault(track, Tryout(self.routine, t)).update(t, common)
        largest = max(self.sizes.values(), default=0.0)
        ready = []
        for track, common in sorted(people, key=lambda p: p[0]):  # the older track first (track numbers grow)
            tryout = self.tryouts.get(track)
            if self.tracks[track] is not None or tryout is None or t - tryout.since < self.probation_s:
                continue
            size = self.sizes[track]
            share = MIN_SIZE_SHARE if self.routine is not None else SIZE_SHARE_WITHOUT_ROUTINE
            if size <= 0 or size < share * largest:
                continue  # smaller than life: a picture, a screen, someone far behind the class
            under = [self.tracks[k] for k, c in people if self.tracks[k] is not None and on_place(common, c)]
            if under or any(on_place(common, c) for _, c in ready):
                # A second follower on a member (or on one admitted with it now): the same person
                # read twice, never a second spot; what it read is theirs, scored through their own
                # track (nothing of it to replay: it settles from now on).
                self.shadowing[track] = under[0] if under else None
                tryout.still_since = t
                continue
            was = self.shadowing.pop(track, None)
            if was is not None and was not in self.spots.taken and self.spots._gap(was, centre_x(common)) <= self.spots.reach * 3 * size:
                # It read a member until the last picture and their own follower is lost: it is
                # them, at their place; their spot at once (they never left), nothing scored twice.
                self._admit(track, was)
                self.settled[track] = t
                continue
            back = self.spots.vacant_near(centre_x(common), 3 * self._usual(track)) if tryout.in_place(t) else None
            if back in self.reserved and not tryout.exercising(t):
                continue  # a spot kept as the class started: taken by becoming a member there, not by standing there
            if back is not None:  # a member who returned: their spot back
                self._admit(track, back)
            elif tryout.exercising(t):
                ready.append((track, common))
        claiming = [(track, centre_x(c), None) for track, c in ready]
        if self.routine is not None and not self.spots.places and (ready or self.gathered):
            # The class's first members: whoever else becomes one within gather_s is numbered with
            # them, by place; each at the place and time they became ready.
            self.gathering_since = t if self.gathering_since is None else self.gathering_since
            for track, c in ready:
                self.gathered.setdefault(track, (centre_x(c), self.tryouts[track].still_since))
            self.gathered = {k: v for k, v in self.gathered.items() if k in now and self.tracks.get(k) is None}
            walked = any(self.tryouts[k].still_since > since for k, (_, since) in self.gathered.items())
            claiming = []
            if t - self.gathering_since >= self.gather_s or walked:
                self._close_gathering()
        self._claim(claiming)
        return dict(self.tracks)

    def _claim(self, claiming: list) -> list[int]:
        """Spots for [(track, x, settled or None)] becoming members together; the tracks admitted.
        A track with `since` RESERVE is not admitted: its spot is numbered with the others, by
        place, and kept vacant for it (reserved)."""
        spots = self.spots.claim([(x, 3 * self._usual(k)) for k, x, _ in claiming])
        out = []
        for (track, _, since), spot in zip(claiming, spots):
            if spot is not None and since is RESERVE:
                self.spots.leave(spot)
                self.reserved.add(spot)
            elif spot is not None:
                self._admit(track, spot)
                out.append(track)
                if since is not None:
                    self.settled[track] = since
        return out

    def _close_gathering(self) -> list[int]:
        """The class's first members, numbered together by place: the tracks admitted."""
        gathered, self.gathered = self.gathered, {}
        t, largest = self._t, max(self.sizes.values(), default=0.0)
        under_way = [(k, tryout.hips[-1][1], RESERVE) for k, tryout in self.tryouts.items()
                     if k not in gathered and self.tracks.get(k) is None and k not in self.shadowing
                     and tryout.hips and tryout.under_way() and tryout.in_place(t)
                     and self.sizes.get(k, 0.0) >= MIN_SIZE_SHARE * largest]
        return self._claim([(k, x, since) for k, (x, since) in gathered.items()] + under_way)

    def _usual(self, track: int) -> float:
        """A track's usual torso: the median of its readings (a first short one or a misread one
        does not make them another size than the spot they return to), else its largest."""
        tryout = self.tryouts.get(track)
        return usual_torso(tryout.hips if tryout is not None else self.paths.get(track, ())) or self.sizes[track]

    def _someone_else(self, track: int, t: float, size: float) -> bool:
        return someone_else(self, track, t, size, self.probation_s)

    def _admit(self, track: int, spot: int) -> None:
        self.reserved.discard(spot)
        self.spots.taken.add(spot)
        self.spots.heights.setdefault(spot, 3 * self._usual(track))
        self.tracks[track] = spot
        tryout = self.tryouts.pop(track, None)
        if tryout is not None:
            self.settled[track] = tryout.still_since

    def forget(self, track: int) -> None:
        spot = self.tracks.pop(track, None)
        if spot is not None:
            self.spots.leave(spot)
        self.tryouts.pop(track, None)
        self.sizes.pop(track, None)
        self.usual.pop(track, None)
        self.grown.pop(track, None)
        self.first_seen.pop(track, None)
        self.paths.pop(track, None)
        self.settled.pop(track, None)
        self.shadowing.pop(track, None)
        self.scales.forget(track)

    def members(self) -> int:
        return sum(1 for s in self.tracks.values() if s is not None)


def on_place(common: np.ndarray, other: np.ndarray) -> bool:
    """Whether a reading is where another person of the same picture is: one body read twice
    (same_body), or, with its torso unseen on this picture, its seen keypoints' middle within
    SAME_BODY_TORSOS of the other's torso of the other's middle."""
    if same_body(common, other):
        return True
    size = torso(other)
    if torso(common) > 0 or size <= 0:
        return False
    a, b = common[common[:, 2] >= MIN_SCORE, :2], other[other[:, 2] >= MIN_SCORE, :2]
    if not len(a) or not len(b):
        return False
    return float(np.hypot(*(np.median(a, axis=0) - np.median(b, axis=0)))) <= SAME_BODY_TORSOS * size


def someone_else(watch, track: int, t: float, size: float, probation_s: float) -> bool:
    """A track's torso reading SWAP_RATIO times its usual for SWAP_READINGS readings in a row:
    the follower slid onto someone nearer the camera. (Only growth: a forward bend or a turn
    shortens a torso, nothing lengthens it.) For its first `probation_s` the usual is its largest
    reading: a first reading from the detector's rough region is often short. `watch` keeps the
    dicts first_seen, usual and grown (the ClassBook's, or the group estimator's own, which looks
    for the person lost at once)."""
    if size <= 0:
        return False
    first = watch.first_seen.setdefault(track, t)
    if t - first < probation_s:
        watch.usual[track] = max(watch.usual.get(track, 0.0), size)
        return False
    usual = watch.usual.setdefault(track, size)
    if size > SWAP_RATIO * usual:
        watch.grown[track] = watch.grown.get(track, 0) + 1
        return watch.grown[track] >= SWAP_READINGS
    watch.grown[track] = 0
    watch.usual[track] = usual + 0.1 * (size - usual)
    return False


# A body's scale in the picture, read from the lengths of its bones: each bone against its own
# usual length, the median of those ratios. A movement foreshortens some bones (the thighs of a
# squat seen from the front, the torso of a bend, an arm pointed at the camera), never most of them
# at once; another person nearer or further away changes them all alike. The torso alone (the
# growth rule above) cannot tell a bend from someone smaller: MoveNet's follower slid from a
# squatter (torso 130 px) onto a passer-by walking in front of him (torso 56-61 px, every bone about
# 0.45x) and kept his spot for 0.9 s until its walk was noticed (a composed room of real clips).
SCALE_BONES = tuple((COMMON_INDEX[a], COMMON_INDEX[b]) for a, b in (
    ("neck", "mid_hip"), ("left_shoulder", "left_elbow"), ("right_shoulder", "right_elbow"),
    ("left_elbow", "left_wrist"), ("right_elbow", "right_wrist"), ("left_hip", "left_knee"),
    ("right_hip", "right_knee"), ("left_knee", "left_ankle"), ("right_knee", "right_ankle")))
MIN_SCALE_BONES = 4  # fewer bones seen on a picture (someone half hidden) tell nothing of their scale
# Of the usual scale, the share beyond which a body is another person's. SpotBook.size_ratio's
# figure: nobody is 1.6x larger or smaller than themselves a moment later.
SCALE_RATIO = 1.6
# ... when it comes in one step from a reading within this share of the usual: a fall shrinks every
# bone too (legs and trunk folding towards the camera), but over several readings (MoveNet,
# falls/knees_buckle_backward_front at 30 a second: 0.89, 0.83, 0.77, 0.72, 0.61, 0.59, 0.53 of his
# usual), and a member falling is still that member (their own fall detector must hear it).
STEADY_RATIO = 1.25


def bone_lengths(common: np.ndarray) -> np.ndarray:
    """Each SCALE_BONES bone's length in pixels, NaN where an end is not seen."""
    out = np.full(len(SCALE_BONES), np.nan)
    for k, (a, b) in enumerate(SCALE_BONES):
        if min(common[a, 2], common[b, 2]) >= MIN_SCORE:
            out[k] = float(np.hypot(*(common[a, :2] - common[b, :2])))
    return out


def body_scale(common: np.ndarray, usual: np.ndarray | None) -> float | None:
    """This reading's scale against a body's usual bone lengths (1.0: the same size): the median of
    each bone's length over its usual, over the bones seen and known; None with fewer than
    MIN_SCALE_BONES."""
    if usual is None:
        return None
    now = bone_lengths(common)
    both = ~np.isnan(now) & ~np.isnan(usual) & (np.nan_to_num(usual) > 0)
    if both.sum() < MIN_SCALE_BONES:
        return None
    return float(np.median(now[both] / usual[both]))


@dataclass
class BodyScales:
    """Each track's usual bone lengths, and how many readings in a row read it another size: one
    follower sliding from the body it followed onto another (a passer-by in front of a member,
    larger or smaller). The ClassBook's: a member's follower on someone else lets the member's spot
    go (it waits for them; the passer-by is a stranger trying out)."""
    bones: dict = field(default_factory=dict)  # track -> usual bone lengths (NaN: not seen yet)
    odd: dict = field(default_factory=dict)  # track -> readings in a row at another scale
    first_seen: dict = field(default_factory=dict)
    last: dict = field(default_factory=dict)  # track -> its last reading's scale (of those that told one)

    def another_body(self, track: int, t: float, common: np.ndarray, probation_s: float = 0.5) -> bool:
        """Whether the body read by `track` is, for SWAP_READINGS readings in a row, SCALE_RATIO
        times larger or smaller than its usual (body_scale), the first of them straight after a
        reading within STEADY_RATIO of it (a jump, not a fall's folding): someone else. For its first
        `probation_s` the usual is each bone's longest reading (a first reading from the detector's
        rough region is often short); later each bone's usual follows it slowly (0.1 a reading) on
        the readings at its usual scale."""
        now = bone_lengths(common)
        usual = self.bones.get(track)
        first = self.first_seen.setdefault(track, t)
        if usual is None or t - first < probation_s:
            self.bones[track] = now if usual is None else np.fmax(usual, now)
            return False
        scale = body_scale(common, usual)
        if scale is None:
            return False  # too little seen to tell: neither counted nor learnt from
        last, self.last[track] = self.last.get(track, 1.0), scale
        if max(scale, 1.0 / max(scale, 1e-6)) > SCALE_RATIO:
            if not self.odd.get(track) and max(last, 1.0 / max(last, 1e-6)) > STEADY_RATIO:
                return False  # came there by degrees: the body followed changed its pose, not its size
            self.odd[track] = self.odd.get(track, 0) + 1
            return self.odd[track] >= SWAP_READINGS
        self.odd[track] = 0
        seen = ~np.isnan(now)
        learnt = np.where(np.isnan(usual), now, usual + 0.1 * (now - usual))
        self.bones[track] = np.where(seen, learnt, usual)
        return False

    def forget(self, track: int) -> None:
        for kept in (self.bones, self.odd, self.first_seen, self.last):
            kept.pop(track, None)


WAITING_S = 20.0  # a candidate's readings kept until they are a member (the repetitions that made them one)


class ClassRoll:
    """Everyone followed in, each member's readings out: the one class state machine that the
    scoring service and `silvergym score` (and the tests, through it) drive, live and offline alike.

    `update(t, people)` with [(track, common keypoints, item)] of one picture (item: whatever the
    caller scores, a Pose message or a frame's numbers) gives [(spot, track, item)] to score, in
    order: a track that just became a member first gives its readings of the last WAITING_S since it
    settled in place (the repetitions that made it one are scored, as they are when the video is
    scored offline; a member who walked away and came back is not scored on the walk), then each
    member's reading of this picture. A track never a member is followed, never scored."""

    def __init__(self, routine=None, max_people: int = 4, probation_s: float = 0.5, waiting_s: float = WAITING_S):
        self.book = ClassBook(routine, max_people, probation_s)
        self.waiting_s = waiting_s
        self.waiting: dict[int, deque] = {}  # track -> [(t, item)] while not a member
        self.seen: set = set()  # every track given
        self.admitted: set = set()  # every track that was a member at some time
        self.heard: dict[int, float] = {}  # spot -> the time of the last reading it was given

    def update(self, t: float, people: list) -> list[tuple[int, int, object]]:
        spots = self.book.update(t, [(track, common) for track, common, _ in people])
        out = []
        for track, _, item in people:
            self.seen.add(track)
            queue = self.waiting.setdefault(track, deque())
            queue.append((t, item))
            while queue and queue[0][0] < t - self.waiting_s:
                queue.popleft()
            spot = spots.get(track)
            if spot is not None:
                self.admitted.add(track)
                # What made them a member is replayed, but never a moment their spot already heard:
                # a second follower on a member, in place before the member's own was lost, took the
                # spot back and replayed those pictures again (a drawn case: 125 readings of 120
                # moments; likely a trial's MoveNet room's 225 readings from 216 pictures).
                since = max(self.book.settled.get(track, float("-inf")), self.heard.get(spot, float("-inf")) + 1e-9)
                out += [(spot, track, it) for at, it in queue if at >= since]
                self.heard[spot] = max(self.heard.get(spot, float("-inf")), t)
                queue.clear()
        for track, (spot, since) in self.book.left_members.items():  # a member as they were lost
            self.admitted.add(track)
            since = max(since, self.heard.get(spot, float("-inf")) + 1e-9)
            out += [(spot, track, it) for at, it in self.waiting.get(track, ()) if at >= since]
            self.heard[spot] = max([self.heard.get(spot, float("-inf"))] + [at for at, _ in self.waiting.get(track, ())])
        given = {track for track, _, _ in people}
        for track in [k for k in self.waiting if k not in given]:
            del self.waiting[track]  # no longer followed: a new track if they are found again
        return out

    def never_members(self) -> int:
        """How many tracks were followed and never a member (a passer-by, a watcher, a picture)."""
        return len(self.seen - self.admitted)


def member_words(spot: int, participant: str = "") -> str:
    """A class member in the command line's words, which are English (`run --once`, `score`,
    `demo`): "spot 2, kim" (the place, and the roster's key or name), "spot 1" for someone known by
    their place alone: "spot-1", the scoring service's key for them, is no person's name."""
    named = participant and participant != f"spot-{spot}"
    return f"spot {spot}" + (f", {participant}" if named else "")


def spot_name(spot: int, roster: dict[int, str] | None = None, locale: str = "ko") -> str:
    """What a spot is called: the center's name for it (the roster), else "1번" / "No. 1"."""
    if roster and spot in roster:
        return roster[spot]
    return f"{spot}번" if locale == "ko" else f"No. {spot}"
