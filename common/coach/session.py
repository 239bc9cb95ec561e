"""One person's session, the same code offline (`silvergym score`) and live (services/scoring.py,
one person or each spot of a class): the scorer, the routine's clock window, when the session
ends (the routine is over, or the recorded participant's video is), and the summary that says
which. So one performance gives one result whichever way it is played.
"""
from __future__ import annotations

import dataclasses
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from common.coach import MIN_POSES_PER_S
from common.coach.fall import FallDetector
from common.coach.routine import Routine
from common.coach.scoring import COUNT_TESTS, FrameScore, SessionScorer
from common.coach.stillness import StillWatch

COMPLETED = "completed"
VIDEO_ENDED = "video ended"
# A fall cut the session short: a fall was called (or its question still open) in it and the person
# was not up again before it ended (summary.ended; the report leaves such a session's score out).
FALL_CUT_SHORT = "fall"


def cut_short_by_fall(summary: dict, fall_in_session: bool, up_again: bool) -> dict:
    """The one rule for how a session with a fall in it ends, for the scoring service and
    `silvergym score` alike: a fall raised in it (called, or its question still open at the end)
    and the person not up again since (common/coach/fall.py up_since_event) ends it FALL_CUT_SHORT
    with `fell`, its score measuring the fall rather than the exercise (the carers' pages leave it
    out of scores and trends). One who got up and went on ran the session its course: a false alarm
    in a program's 4th part, all 7 parts scored after it, dropped the whole session from a report."""
    if fall_in_session and not up_again:
        summary["fell"], summary["ended"] = True, FALL_CUT_SHORT
    return summary


@dataclass
class RecordedFallWatch:
    """The fall watch over a recorded session, the one `silvergym score` and `program score` run:
    every judged pose through a FallDetector (common/coach/fall.py), told as the scoring service
    tells it whether the exercise lies down at that moment (`lying_at(t)`: a routine's lies_down,
    or ProgramSession.lying_expected for the part under way), so a floor exercise is no fall.
    Nobody is there to answer a question, so every event is one the TV would put; `close` puts
    them in the summary as `alerts` and ends it by cut_short_by_fall."""
    lying_at: Callable[[float], bool] | None = None  # None: the exercise never lies down
    detector: FallDetector = field(default_factory=FallDetector)
    alerts: list = field(default_factory=list)

    def see(self, t: float, common, frame_height: float) -> None:
        self.detector.lying_expected = bool(self.lying_at(t)) if self.lying_at is not None else False
        event = self.detector.update(t, common, frame_height)
        if event:  # the question the TV would put, or a hard fall's call at once
            self.alerts.append({"kind": event.kind, "hard": event.hard, "t": round(t, 2)})

    def close(self, summary: dict) -> dict:
        summary["alerts"] = self.alerts
        return cut_short_by_fall(summary, bool(self.alerts), self.detector.up_since_event)


# The TV's words for a person standing still in a routine (common/coach/stillness.py): an
# invitation to follow the instructor, neither praise nor a correction.
FOLLOW_ALONG = "session.follow_along"


# A reading of a person further apart than this from the last is no sampling interval: they were out
# of view (or the box hung), which the counter takes as a cut (common/coach/reps.py RepCounter.cut_s).
READ_GAP_S = 1.0
# The fewest readings of one repetition (the person's own median time from one repetition to the
# next) with which the count and the score hold: measured on the real clips read as a loaded box
# reads them (tests/test_sparse_reads.py, docs/scoring.md "A loaded box").
MIN_POSES_PER_REP = 10.0
# Under this many readings a second a result is not trusted at all (measured: at 5 a second the jumper
# read 0 of his 3 jacks once in three, at 3 a second counts and scores were off on all six clips; a
# repetition missed between readings also lengthens the time between those counted).
FEWEST_POSES_PER_S = 8.0


def repetition_periods(counter) -> list[float]:
    """The seconds from each counted repetition to the next of the same counter (a RepCounter, or None)."""
    if counter is None:
        return []
    return [float(b - a) for c in counter.counters.values() for a, b in zip(c.middles, c.middles[1:]) if b > a]


@dataclass
class PoseReadings:
    """How densely a session's person was read: live inference reads the newest picture whenever it
    is free, so a loaded box reads fewer than the camera gives (3-6 a second seen on a busy 2-core
    box), and a repetition read a few times is missed or misjudged. Whether the session's result can
    be trusted: at MIN_POSES_PER_S or more a second always (measured); under FEWEST_POSES_PER_S never;
    between, when its repetitions were read at least MIN_POSES_PER_REP times each (a senior's slow
    movement needs fewer readings a second than a fast jumping jack). Time: the session's seconds."""

    intervals_s: float = 0.0  # the sum of the intervals between readings (each under READ_GAP_S)
    intervals: int = 0
    _last_t: float | None = None

    def read(self, t: float) -> None:
        if t < 0:
            return  # the countdown is not scored
        if self._last_t is not None and 0 < t - self._last_t < READ_GAP_S:
            self.intervals_s += t - self._last_t
            self.intervals += 1
        self._last_t = t

    @property
    def per_s(self) -> float:
        return self.intervals / self.intervals_s if self.intervals_s > 0 else 0.0

    def summary(self, repetition_s: list) -> dict:
        """The summary's `poses_per_s` and `too_few_poses` (repetition_s: the seconds from one counted
        repetition to the next; none: judged on the rate alone)."""
        rate = self.per_s
        if rate >= MIN_POSES_PER_S or not self.intervals:
            too_few = False  # every picture a camera gives (or nothing read to judge by)
        elif rate < FEWEST_POSES_PER_S:
            too_few = True  # its 0 may be the box's
        else:  # fewer than two repetitions counted: none missed between readings at this rate (measured)
            too_few = bool(repetition_s) and rate * float(np.median(repetition_s)) < MIN_POSES_PER_REP
        return {"poses_per_s": round(min(rate, 1000.0), 1), "too_few_poses": too_few}


@dataclass
class PersonSession:
    routine: Routine
    tolerance_scale: float = 1.0
    lag_window_s: float = 1.5
    participant: object = None  # a config participant (age, sex, seated...), None: a guest
    naive: bool = False
    # Routine time at which the recorded participant's video ended (None: it has not, or a camera).
    video_end_t: float | None = None
    video_looped: int = 0  # a looping video file started again this many times during the session
    last_t: float = 0.0
    # Said instead of a verdict while the person is not doing the movement ("": not watched here;
    # a program watches its parts itself, with its own words).
    still_guidance: str = FOLLOW_ALONG
    scorer: SessionScorer = field(init=False)
    readings: PoseReadings = field(init=False)

    def __post_init__(self):
        self.scorer = SessionScorer(self.routine, self.tolerance_scale, self.lag_window_s, naive=self.naive,
                                    participant=self.participant)
        self._still = StillWatch(self.routine, unseen_is_still=False) if self.still_guidance else None
        self.readings = PoseReadings()

    def ended_by(self, t: float) -> str:
        """Why a pose at routine time t falls after the session ('' while it runs): the routine
        is over, or the video it comes from already ended (a held last picture)."""
        if t > self.routine.duration_s + 1e-6:
            return COMPLETED
        if self.video_end_t is not None and t >= self.video_end_t - 1e-6:
            return VIDEO_ENDED
        return ""

    def update(self, t: float, common, world=None, frame_size=None) -> FrameScore:
        self.last_t = max(self.last_t, t)
        self.readings.read(t)
        frame = self.scorer.update(t, common, world, frame_size)
        # Standing still is not "잘하고 있어요!" in green, nor wrong: no colours, the words invite.
        # Only what the TV is told changes; the scorer judged the frame as it is.
        if self._still is not None and t >= 0 and self._still.stopped(t, frame.angles):
            frame = dataclasses.replace(frame, joint_status={j: "none" for j in frame.joint_status},
                                        joint_error_deg={}, verdict="none", guidance=self.still_guidance)
        return frame

    def summary(self, ended: str) -> dict:
        from common.coach.cues import GENERIC, movement_of

        out = self.scorer.summary()
        out.update(ended=ended, duration_s=self.routine.duration_s,
                   exercised=exercised(self.scorer, out["reps"]),
                   # the movement it was, as a program's part carries it ("" for one the box does not know)
                   movement="" if movement_of(self.routine) == GENERIC else movement_of(self.routine))
        if ended == VIDEO_ENDED and self.video_end_t is not None:
            out["video_ended_s"] = round(self.video_end_t, 2)  # the routine went on longer than the video
        if self.video_looped:
            out["video_looped"] = self.video_looped  # the same video scored more than once: say so
        out.update(self.readings.summary(repetition_periods(self.scorer.reps)))
        return out


def play_recording(person, poses: list, worlds: list, fps: float, size, each=None, lag_frames: int = 0,
                   reads: list[int] | None = None) -> str:
    """A recorded performance played through a session (a PersonSession or a ProgramSession) the
    one way `silvergym score`, `program score` and the tests read a clip: pose i at the file's
    time i/fps (the participant `lag_frames` behind), until the routine or the video ends. `each`
    sees every judged frame as (i, t, k, frame). Returns why the session ended: completed when
    the video outlasts the routine, else video ended. `reads`: the pictures read, in order (a
    loaded box's live inference reads the newest picture whenever it is free: newest_reads);
    None: every one, as `score` does."""
    person.video_end_t = len(poses) / fps
    # A class of one (ClassSession with OnePerson's admission): the recording is the participant,
    # every picture theirs, nobody in view too; the same class code the scoring service drives.
    room = ClassSession(None, session_for=lambda spot: person, admission=OnePerson(taken=True))
    for i in (range(len(poses)) if reads is None else reads):
        t = i / fps
        if person.ended_by(t):
            break
        k = max(0, i - lag_frames)
        seen = [(ONE_TRACK, poses[k], worlds[k], size)] if poses[k] is not None else []
        for _, _, _, _, frame in room.update(t, seen, size):
            if each is not None:
                each(i, t, k, frame)
    return person.ended_by(person.video_end_t)


def newest_reads(pictures: int, fps: float, per_s: float, rng=None, jitter: float = 0.3) -> list[int]:
    """The pictures of a recording (`pictures` at `fps`) a reader taking 1/per_s seconds a read reads
    when it takes the newest picture whenever it is free, as live inference does (services/inference.py):
    each read takes 1/per_s x a uniform factor within 1 +- `jitter` (rng: a numpy Generator; None: no
    jitter), and a reader free before the next picture waits for it. What a loaded box scores."""
    now, last, out = 0.0, -1, []
    while (k := int(now * fps + 1e-9)) < pictures:
        if k == last:  # nothing new yet: wait for the next picture
            now = (k + 1) / fps
            continue
        out.append(k)
        last = k
        now += (1.0 / per_s) * (1.0 if rng is None else float(rng.uniform(1 - jitter, 1 + jitter)))
    return out


def exercised(scorer: SessionScorer, reps: int) -> bool:
    """Whether a session holds any exercise: a counted repetition, a held second of a hold, or a
    whole repetition of the routine's cycle judged. One in which the person never went through
    the movement (someone standing in view after a session, a start by mistake) is delivered as
    it is, marked exercised false, so nobody reads its 0 as a score (the TV, the report, the
    carers' pages). A count test with no count has nothing to count: not exercised either. Nor is
    a movement seen where the model cannot measure it (SessionScorer.seen_not_measured: a squat
    read from the front by a 2D model): its cycles may have been judged, but against a depth the
    picture cannot show, so its 0 is no score either (it was 0 with every joint 0%)."""
    if reps > 0:
        return True
    if scorer.seen_not_measured():
        return False
    if scorer.routine.kind in COUNT_TESTS:
        return False
    if scorer.routine.kind == "balance_hold":
        return scorer.hold_s > 0
    return scorer.running_score_judged()


# After a session, how long nobody must be in view before someone coming into view starts the next.
AWAY_S = 2.0


class StayGate:
    """Whether someone in view may start a session by themselves (one-person mode, autostart).

    After a session ends, the person still standing there (a senior who stays after the summary,
    or a video's held last picture) does not start another by standing: a new session needs them
    to leave the view for AWAY_S and come back, or the remote's start. Chosen over "the person
    starts the movement": a person who lingers after a session moves (stretches, turns, walks
    about in view) without meaning to begin again, and a movement's start looks different for each
    routine; leaving and coming back is what someone does who is done, and what someone does who
    comes for a session, and needs only whether a person is seen. AWAY_S of continuous absence, so
    a pose the model misses for a few frames does not count as leaving. Time: seconds of the caller's clock."""

    def __init__(self, away_s: float = AWAY_S):
        self.away_s = away_s
        self.held = False  # True from a session's end until the person left and came back
        self._away_since: float | None = None

    def session_ended(self) -> None:
        self.held, self._away_since = True, None

    def see(self, present: bool, t: float) -> None:
        """One picture at time t: someone in view or not."""
        if not self.held:
            return
        if present:
            self._away_since = None
        elif self._away_since is None:
            self._away_since = t
        elif t - self._away_since >= self.away_s:
            self.held = False

    @property
    def open(self) -> bool:
        return not self.held


ONE_TRACK = 1  # the track a class of one's reader gives its one person (models/estimator.py OnePerson)


class OnePerson:
    """One-person mode's admission: a class of one. Its one spot (`spot`, 0: one person's files and
    records, no class fields) is the box's participant from the start (`taken`), as a roster's
    spot is its person's, and hears every picture of the one person, and nobody in view too, for
    one person's absence is part of their session (the fall detector watches them leave, the stay
    gate waits for it). The session itself starts on sight, as a class's spot's does: the session's
    own autostart (services/scoring.py Sessions), not the admission.

    Who the one person is, when the front follows several (a passer-by in front, someone behind),
    is group mode's member selection with one member: common/coach/spots.py's ClassBook, with one
    spot, sees everyone followed; the one is, in turn,
      - the book's member: the person following `routine` in place (MEMBER_REPS repetitions), as a
        class's member is made; a passer-by walking through never is one;
      - whoever is alone in view (the spot is theirs from the start, as a roster's: their falls
        are watched and their session starts on sight, as one person's always did);
      - the one of the last picture, while they stay in place (not walking: spots.travelling);
      - else whoever has stood in place longest (spots.RETURN_S at least, as a member coming back
        to their spot), of a size (spots.MIN_SIZE_SHARE of the largest) to be in the room;
    and nobody while none of these tells (a class's members are heard only when seen). Who becomes
    the one is heard from when they settled in place (a class's member's readings that made them
    one are scored too), but after someone else heard on a picture with them, only READ_GAP_S
    later: a change of body is a cut for the session's counter. With one person in view, as one
    person's front always gives, that person is the one on every picture, as before.
    A class's ClassRoll is the other admission; both give [(spot, track, item)] from
    [(track, common, item)]."""

    hears_absence = True

    def __init__(self, spot: int = 0, taken: bool = True, routine=None):
        self.spot, self.taken, self.routine = spot, taken, routine
        self.seen: set = set()  # every track given
        self.heard: set = set()  # every track that was the one person
        self._follow_afresh()

    def _follow_afresh(self) -> None:
        """Who is in view, followed from nothing (as at the start)."""
        from common.coach.spots import ClassBook  # spots imports the counting; no cycle at import

        # One spot, nobody to number with it as the class starts: no gathering wait.
        self.book = ClassBook(self.routine, max_people=1, gather_s=0.0)
        self.one: int | None = None  # the one person on the last picture (None: nobody told)
        self.members: set = set()  # the book's members on the last picture
        self.heard_t = float("-inf")  # the time of the last picture heard
        self.waiting: dict = {}  # track -> deque of its (t, item) of the last spots.WAITING_S
        self.hear_from = float("-inf")  # the one's readings are heard from this time
        self.last_heard: int | None = None  # the track of the last reading heard
        self.companions: dict = {}  # track followed -> the tracks followed on a picture with it

    def update(self, t: float, people: list) -> list[tuple[int, int, object]]:
        from common.coach.spots import WAITING_S

        if t < self.heard_t:
            # The clock went back: a recorded participant's file plays from its start (its camera heard
            # of the session late and sent the held first picture past the routine's start,
            # services/camera.py StartWithSession). A new recording, followed afresh: kept, the file's
            # first seconds were older than the last picture heard and never heard (run --once counted
            # 3 of the lateral raises' 4 when the camera heard 1.6 s late; score 4).
            self._follow_afresh()
        for track, _, item in people:
            self.seen.add(track)
            queue = self.waiting.setdefault(track, deque())
            queue.append((t, item))
            while queue[0][0] < t - WAITING_S:
                queue.popleft()
        given = {track for track, _, _ in people}
        self.waiting = {track: queue for track, queue in self.waiting.items() if track in given}
        self.companions = {track: self.companions.get(track, set()) | (given - {track}) for track in given}
        spots = self.book.update(t, [(track, common) for track, common, _ in people])
        before, one = self.one, self._the_one(t, people, spots)
        self.one, self.members = one, {track for track, spot in spots.items() if spot is not None}
        if one is None:
            return []
        if one != before:
            # Someone who becomes the one is heard from when they settled in place (what made them
            # the one, as ClassRoll replays what made a member). One followed on a picture with the
            # person heard last is another body: heard from READ_GAP_S after them, so that the session's
            # counter takes the change as a cut (RepCounter.cut_s) and joins no movement of the two
            # into one repetition (the jumper's arms up as his follower was lost, then the walker's
            # arms down, counted a jack: MoveNet at 12 a second, a play of two_people_sports2d).
            beside = self.last_heard in self.companions.get(one, ())
            after = self.heard_t + (READ_GAP_S + 1e-6 if beside else 1e-9)
            self.hear_from = max(self._settled(one, t), after)
        out = [(self.spot, one, item) for at, item in self.waiting[one] if at >= max(self.hear_from, self.heard_t + 1e-9)]
        if out:
            self.taken = True  # not taken from the start: on sight
            self.heard.add(one)
            self.heard_t, self.last_heard = t, one
        return out

    def _settled(self, track: int, t: float) -> float:
        """Since when a track has been in place: as the book's member, or trying out."""
        if track in self.book.settled:
            return self.book.settled[track]
        tryout = self.book.tryouts.get(track)
        return tryout.still_since if tryout is not None else t

    def _the_one(self, t: float, people: list, spots: dict) -> int | None:
        from common.coach.spots import MIN_SIZE_SHARE

        if not people:
            return None
        members = [track for track, _, _ in people if spots.get(track) is not None]
        if members:
            return members[0]
        if len(people) == 1:
            return people[0][0]
        tryouts = self.book.tryouts
        # Kept while in place; not when the book let them go this picture as a member (they walk, or
        # their follower slid onto someone else: their tryout starts over, its walk not yet seen).
        let_go = self.one in self.members and self.one not in members
        if (self.one in tryouts and not let_go and any(track == self.one for track, _, _ in people)
                and not tryouts[self.one]._travelling(t)):
            return self.one
        largest = max(self.book.sizes.values(), default=0.0)
        in_place = [track for track, _, _ in people if track in tryouts and tryouts[track].in_place(t)
                    and self.book.sizes.get(track, 0.0) >= MIN_SIZE_SHARE * largest > 0]
        return min(in_place, key=lambda k: (tryouts[k].still_since, k), default=None)

    def never_members(self) -> int:
        """How many tracks were followed and never the one person (a passer-by, someone behind)."""
        return len(self.seen - self.heard)


class ClassSession:
    """A class scored: everyone followed in, each member's session out, one person (a class of one,
    OnePerson's admission) or many (ClassRoll's); what `silvergym score` runs on a video of a class
    and on one person's (play_recording), what the tests run on composed rooms, and what the
    scoring service drives (services/scoring.py ClassSessions: `admit` and `member`, each member a
    per-spot Sessions that adds the clock, the spool and the bus around its PersonSession).

    `update(t, people, size)` with [(track, common keypoints, world or None, frame size)] of one
    picture: the admission decides who is a member and at which spot, each member's readings (a
    newcomer's that made them one first) go to their spot's PersonSession (`session_for(spot)`,
    kept through leaving and coming back); with nobody in view a class of one's member hears
    (t, None, None, size). Gives [(spot, track, t, common, FrameScore)] of what was scored."""

    def __init__(self, routine: Routine | None, max_people: int = 4, session_for=None, admission=None,
                 program=None):
        from common.coach.spots import ClassRoll  # spots imports the counting; no cycle at import

        # A class through a program ([program]): every member a ProgramSession (session_for's) on the
        # class's one clock, which spans the program; the roll admits whoever follows the part now
        # under way (someone joining in the jumping jacks is not asked to squat).
        self.program = program
        self.skipped_s = 0.0  # a program's seconds skipped by the remote: the whole class's (ClassSessions)
        self.skipped: set = set()  # the parts skipped so, a member joining later skipped them too
        # The class's t = 0 on the caller's clock (`silvergym score`: the file's start, 0; the service:
        # its routine_start_ns in seconds, which it sets): which part is under way for the roll.
        self.start_t = 0.0
        if routine is None and program is not None:
            routine = program.parts[0].routine
        self.routine = routine
        self.roll = admission if admission is not None else ClassRoll(routine, max_people)
        self.session_for = session_for or (lambda spot: PersonSession(routine))
        self.sessions: dict = {}  # by spot: PersonSessions, or the service's per-spot Sessions
        self.last_t = 0.0

    @property
    def duration_s(self) -> float:
        """The class's length on its clock: the routine's, or the program's less what was skipped."""
        if self.program is not None:
            return self.program.duration_s - self.skipped_s
        return self.routine.duration_s

    def part_at(self, t: float) -> int:
        """A program's part under way (or resting after) at class time t; 0 without a program."""
        if self.program is None:
            return 0
        p, schedule = t + self.skipped_s, self.program.schedule()
        return next((i for i, (_, _, rest_end) in enumerate(schedule) if p < rest_end), len(schedule) - 1)

    def admit(self, t: float, people: list, nobody=None) -> list[tuple[int, int, object]]:
        """[(track, common, item)] of one picture through the admission: [(spot, track, item)] to
        score, in order. `nobody` is the item of a picture with nobody in view, which a class of
        one's member hears (a class's members are heard only when seen)."""
        self.last_t = max(self.last_t, t)
        book = getattr(self.roll, "book", None)  # ClassRoll's: who follows the part now under way
        if self.program is not None and book is not None:
            at = t - self.start_t  # past the class's end: the next class begins with the first part
            routine = self.program.parts[self.part_at(at) if at <= self.duration_s else 0].routine
            if book.routine is not routine:  # a new movement: whoever is trying out is counted on it afresh
                book.routine = routine
                for tryout in book.tryouts.values():
                    tryout.routine = routine
                    tryout._new_counter()
        admitted = self.roll.update(t, people)
        if not people and nobody is not None and getattr(self.roll, "hears_absence", False) and self.roll.taken:
            admitted = [(self.roll.spot, 0, nobody)]
        return admitted

    def member(self, spot: int):
        """The session of a spot, made when first needed and kept by spot (someone who left and
        came back goes on)."""
        if spot not in self.sessions:
            self.sessions[spot] = self.session_for(spot)
        return self.sessions[spot]

    def update(self, t: float, people: list, size=None) -> list:
        out = []
        given = [(track, common, (t, common, world, size)) for track, common, world, size in people]
        for spot, track, (at, common, world, size) in self.admit(t, given, (t, None, None, size)):
            person = self.member(spot)
            if self.program is not None and person.ended_by(at):  # done (its last repetition heard): no more
                continue
            out.append((spot, track, at, common, person.update(at, common, world, size)))
        return out

    def summaries(self, ended: str | None = None) -> dict[int, dict]:
        """Each spot's summary by spot; `ended` None: the routine completed if the class ran
        its whole length, else the video ended at the last picture."""
        out = {}
        for spot in sorted(self.sessions):
            person = self.sessions[spot]
            person.video_end_t = self.last_t
            why = ended or (COMPLETED if self.last_t >= self.duration_s - 1e-6 else VIDEO_ENDED)
            out[spot] = person.summary(why)
        return out
