"""One person's session through a program: one PersonSession per part (common/coach/session.py,
the same scoring as a single routine), the rests between parts, a part skipped with the remote,
and the summary with each movement's result and the program's score (common/coach/program.py
program_score, defined there once).

Time: t is seconds since the program started (the services' routine clock); a skip moves the
program ahead, so program time = t + the seconds skipped so far.

A person who stops for a part is not scored as wrong for it: a part in which they were hardly
seen, or moved the part's joints through less than REST_SHARE of the routine's own range without
a counted repetition, is `rested` (no score, left out of the program's score). The participant
follows the instructor a little behind: the part just ended keeps receiving the person's frames
for up to GRACE_S while a repetition is under way at its end (a counter away from its start) or
while the person is behind the instructor's count (the part's target, which also caps it), so the
repetitions they were still doing count and the next part's counter hears the same frames from its
own start; a repetition begun within GRACE_S may finish, up to one of the part's own repetition
periods more (the instructor's pace: a squat begun 1.4 s late takes a second more). Once neither
holds, nothing more is judged as this part's movement. The last part too: the program ends once
that is done (ended_by). The next part's
counter watches LEAD_S before it starts (a cut placed a moment late loses no repetition).

The person's own clock: a senior follows up to 2 s or more behind the instructor (or ahead, having
finished early). Each part's lag is measured on the person's repetitions against the instructor's
(_lag: the median of their middles' differences, within MAX_LAG_S), and the boundary between two
parts is taken where the person crosses it (_boundary: the next part's start plus that lag): one
excursion is one part's repetition, never both (_hand_over). A repetition before the person's
boundary is the part before's (the next part's counter gives it back, and its poses are not judged
as the next movement: the last jumping jacks of a participant 1.5 s behind counted as lateral
raises, 5 of 4); one after it counted by both is the next part's. Behind, the part before hears the
person that much longer (_in_grace); ahead, the next one watches that much earlier and keeps what it
counted after the boundary (2 s ahead, the next part's first repetition, done before the
instructor's start, was dropped: 3 of 4).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from common.coach.fall import lies_down
from common.coach.program import Program, program_score
from common.coach.scoring import FrameScore
from common.coach.session import COMPLETED, VIDEO_ENDED, PersonSession, PoseReadings, repetition_periods
from common.coach.stillness import REST_SHARE, STOPPED_S, StillWatch, moving_ranges  # noqa: F401 (re-exported)

GRACE_S = 1.5  # as PersonSession's lag window: how far behind the instructor a participant may be
LEAD_S = 1.5  # how long before a part its repetition counter already watches
# The most a person's lag (behind +, ahead -) is trusted to move a part's boundary: a senior 2 s late
# is common; much more is more likely a miscount (a repetition left out pairs the wrong ones).
MAX_LAG_S = 2.5
SEEN_SHARE = 0.2  # seen on less than this share of a part's frames: away for it (rested)
REST_OK = "program.rest_ok"  # the TV's words for it (common/locales: "쉬셔도 괜찮아요")


@dataclass
class ProgramFrame:
    part: int  # the part this moment belongs to
    part_t_s: float  # seconds into the part (its routine's time); during the rest after it, its length
    resting_s: float  # seconds of rest left after the part (0 while the part runs)
    progress: float  # 0..1 through the whole program
    frame: FrameScore | None  # the part's verdict; None while resting


@dataclass
class ProgramSession:
    program: Program
    participant: object = None
    tolerance_scale: float = 1.0
    lag_window_s: float = 1.5
    naive: bool = False
    video_end_t: float | None = None  # as PersonSession: when the recorded participant's video ended
    skipped_s: float = 0.0
    persons: list = field(init=False)
    skipped: set = field(init=False)
    _count_at_end: dict = field(init=False)
    _started: set = field(init=False)

    def __post_init__(self):
        self._still: dict[int, StillWatch] = {}  # per part: is the person doing its movement at all
        self.schedule = self.program.schedule()
        self.persons = [None] * len(self.program.parts)
        self.skipped = set()
        self._count_at_end = {}
        self._finishing = {}  # per part: repetitions under way (a counter away from its start) at its end
        self._closed = set()  # parts whose repetition under way at the end has finished: they hear no more
        self._taught = {}  # per part: the middles of the instructor's repetitions (_taught_middles)
        self._forgotten = {}  # per part: up to which of its own seconds its poses were the part before's
        self._started = set()
        self._lying = [lies_down(part.routine) for part in self.program.parts]  # each part: the instructor lies
        self.readings = PoseReadings()  # how densely the person was read, the whole program (session.PoseReadings)

    current: int = field(init=False, default=0)  # the part of the last update
    # The person's frames the program judged, each once: a frame heard by two parts (the part just
    # ended finishing its repetition, the next one starting) is one frame (the parts' sum was 1946 of
    # a 1755-frame video), and scored when any part scored it.
    frames: int = field(init=False, default=0)
    frames_scored: int = field(init=False, default=0)
    last_t: float = field(init=False, default=0.0)
    video_looped: int = field(init=False, default=0)

    @property
    def routine(self):
        """The current part's routine (what the TV shows and Score.routine names)."""
        return self.program.parts[self.current].routine

    @property
    def scorer(self):
        return self.person(self.current).scorer

    def person(self, i: int) -> PersonSession:
        if self.persons[i] is None:
            part = self.program.parts[i]
            # the part's stillness is watched here, with the program's words (resting is fine)
            self.persons[i] = PersonSession(part.routine, self.tolerance_scale, self.lag_window_s,
                                            participant=self.participant, naive=self.naive, still_guidance="")
        return self.persons[i]

    def locate(self, t: float) -> tuple[int, float, float]:
        """(part, seconds into it, seconds of rest left) at session time t."""
        p = t + self.skipped_s
        for i, (start, end, rest_end) in enumerate(self.schedule):
            if p < end or i == len(self.schedule) - 1:
                return i, max(0.0, p - start), 0.0
            if p < rest_end:
                return i, end - start, rest_end - p
        return len(self.schedule) - 1, 0.0, 0.0  # not reached: the last part takes the rest of time

    @property
    def remaining_s(self) -> float:
        """Program time left at session time 0 (the program's length less what was skipped)."""
        return self.program.duration_s - self.skipped_s

    def lying_expected(self, t: float) -> bool:
        """Whether at session time t the program lies down: within a part whose instructor lies
        (common/coach/fall.py lies_down), from LEAD_S before it (a cut a moment late) to GRACE_S
        and the lag window after it (the person follows a little behind)."""
        p = t + self.skipped_s
        return any(lying and start - LEAD_S <= p < end + GRACE_S + self.lag_window_s
                   for lying, (start, end, _) in zip(self._lying, self.schedule))

    def ended_by(self, t: float) -> str:
        p = t + self.skipped_s
        # The last part hears a repetition under way at its end as every other part does (GRACE_S):
        # the program ends once that repetition is done (a participant 0.6 s behind lost the last
        # jumping jack when it ended with the instructor's video, 5 of 6).
        if p > self.program.duration_s + 1e-6 and not self.finishing_last(p):
            return COMPLETED
        if self.video_end_t is not None and t >= self.video_end_t - 1e-6:
            return COMPLETED if p > self.program.duration_s + 1e-6 else VIDEO_ENDED
        return ""

    def finishing_last(self, p: float) -> bool:
        """Whether, at program time p after the program's end, the last part still hears the person:
        a repetition under way at its end, not yet back at its start, within GRACE_S."""
        last = len(self.schedule) - 1
        if not self._in_grace(last, p) or last in self.skipped or last in self._closed or self.persons[last] is None:
            return False
        return self._still_finishing(last, p)

    def _in_grace(self, k: int, p: float) -> bool:
        """Whether program time p is within part k's grace after its end: GRACE_S after the person's
        own end (the instructor's plus their lag: _behind), and one of the part's repetition periods
        more for a repetition begun within it (_still_finishing)."""
        end = self.schedule[k][1]
        if not end <= p < end + MAX_LAG_S + GRACE_S + self._period(k):  # (the lag measured only near the end)
            return False
        return p < end + self._behind(k) + GRACE_S + self._period(k)

    def _behind(self, k: int) -> float:
        """How far behind the instructor the person does part k (0 when ahead or not measured)."""
        return max(0.0, self._lag(k))

    def _lag(self, k: int) -> float:
        """The person's lag in part k, seconds (behind +, ahead -): the median difference of the middles
        of their counted repetitions from the instructor's, in order, within MAX_LAG_S. With fewer of
        theirs, the first of theirs may be the instructor's second (one missed): of the pairings, the
        one nearest their lag in the part before (the first part's: in order, as everyone starts with
        the program); a person in step who missed the side-view jacks' first read 1.0 s behind, and the
        part heard the next movement's poses as its own. The part before's lag with fewer than two to
        compare (one alone may be a half or a miss)."""
        person = self.persons[k] if 0 <= k < len(self.persons) else None
        reps = person.scorer.reps if person is not None else None
        own = sorted(m for c in reps.counters.values() for m in c.middles) if reps is not None else []
        taught = self._taught_middles(k) if reps is not None else []
        if min(len(own), len(taught)) < 2:
            return self._lag_before(k)
        lags = [float(np.median([own[j] - taught[j + shift] for j in range(min(len(own), len(taught) - shift))]))
                for shift in range(0, max(0, len(taught) - len(own)) + 1 if k > 0 else 1)]
        lag = lags[0] if len(lags) == 1 else min(lags, key=lambda x: abs(x - self._lag_before(k)))
        return min(MAX_LAG_S, max(-MAX_LAG_S, lag))

    def _lag_before(self, k: int) -> float:
        """The person's lag in the part before part k (0 for the first, or after a rest: the rest resets it)."""
        return self._lag(k - 1) if k > 0 and self.schedule[k - 1][2] == self.schedule[k - 1][1] else 0.0

    def _boundary(self, i: int) -> float | None:
        """Where (program time) the person crosses from the part before part i into it: part i's start
        plus their lag in the part before. None for the first part, after a skipped one, or after a
        rest (the rest is the boundary: _in_grace and LEAD_S cover it)."""
        k = i - 1
        if k < 0 or k in self.skipped or self.persons[k] is None or self.schedule[k][2] > self.schedule[k][1]:
            return None
        return self.schedule[i][0] + self._lag(k)

    def _hand_over(self, i: int) -> None:
        """One excursion is one part's repetition (the module's doc): part i gives back its repetitions
        (and one waiting for a second like it) whose middle falls before the person's boundary, and none
        of its poses before then are judged as its movement (they were the part before's); a repetition
        after the boundary that the part before counted too is taken from the part before."""
        b = self._boundary(i)
        if b is None or self.persons[i] is None:
            return
        start, k = self.schedule[i][0], i - 1
        lead, before = self.schedule[k][0], b - start  # part i's own time
        scorer = self.persons[i].scorer
        take_back(scorer, lambda m: m < before)
        reps, prev = scorer.reps, self.persons[k].scorer.reps
        if reps is not None and reps.count and prev is not None:
            # The part before's repetitions after the boundary that part i counted too (overlapping in time).
            mine = [(start + m - d / 2, start + m + d / 2) for c in reps.counters.values()
                    for m, d in zip(c.middles, c.durations)]
            take_back(self.persons[k].scorer, lambda m: lead + m >= b and any(a <= lead + m <= z for a, z in mine),
                      waiting=False)
        # Its poses are part i's from the boundary, or from the end of the part before's last repetition.
        ends = [lead + m + d / 2 - start for c in (prev.counters.values() if prev is not None else ())
                for m, d in zip(c.middles, c.durations)]
        forget = max([before, *ends])
        if forget > self._forgotten.get(i, 0.0):
            self._forgotten[i] = forget
            scorer.forget_before(forget)

    def _period(self, k: int) -> float:
        """The instructor's seconds per repetition in part k (its length over its target); 0 untargeted."""
        part = self.program.parts[k]
        return part.duration_s / part.reps if part.reps else 0.0

    def _still_finishing(self, k: int, p: float) -> bool:
        """Whether part k, ended, still hears the person at program time p: a repetition under way, or,
        within GRACE_S of its end, the person behind the instructor's count (its target). A person
        1.0 s behind was between repetitions at the end, their last still to do: the 9-part video's
        first jumping jacks (5 of 6) and high knees (17 of 18), the 3-clip video's last jacks. Past
        GRACE_S only a repetition under way that the count still owes finishes (none begins there; a
        counter left out by the next movement, its count done, made that movement this part's: the
        dumbbell squats scored 91.7, not 99.9, on the lateral raises after them)."""
        person = self.persons[k]
        target = self.program.parts[k].reps
        behind = target is not None and self._count(person) < target
        if p < self.schedule[k][1] + self._behind(k) + GRACE_S:
            return behind or bool(self._midway(person))
        return behind and bool(self._midway(person))

    def _parts_frames(self) -> tuple[int, int]:
        """The frames every part has counted so far, and scored (a frame two parts heard twice)."""
        persons = [p for p in self.persons if p is not None]
        return sum(p.scorer.frames for p in persons), sum(p.scorer.frames_scored for p in persons)

    def update(self, t: float, common, world=None, frame_size=None) -> ProgramFrame:
        frames_before, scored_before = self._parts_frames()
        i, part_t, resting = self.locate(t)
        self.current, self.last_t = i, max(self.last_t, t)
        self.readings.read(t)
        p = t + self.skipped_s
        # The last part past its end (the program's end) is heard as a part just ended: below.
        over = i == len(self.schedule) - 1 and p >= self.schedule[i][1]
        graced = None
        # The part just ended still hears the person for a moment: the repetition in progress counts.
        for k in range(i + 1):
            if (k == i and resting == 0.0 and not over) or k in self.skipped or self.persons[k] is None or not self._in_grace(k, p):
                continue
            person = self.persons[k]
            if k not in self._count_at_end:
                self._count_at_end[k] = self._count(person)
                self._finishing[k] = self._midway(person)
            # Only a repetition under way, or one owed to the instructor's count, is finished: once
            # neither is (_still_finishing), the part hears nothing more. Frames of the next movement were judged as this
            # part's (the lateral raises scored 66.9 on the jumping jacks after them, 100 without).
            if k in self._closed or not self._still_finishing(k, p):
                self._closed.add(k)
                continue
            heard = person.update(p - self.schedule[k][0], common, world, frame_size)
            graced = heard if k == i else graced
            self._cap(k)
            if k + 1 <= i and k + 1 in self._started:  # what it counted as it finished is not the next part's
                self._hand_over(k + 1)
        # The next part already hears the person just before it starts (its countdown: counted,
        # not scored), so a repetition begun a moment early (a cut placed late) is not lost; a
        # person ahead of the instructor, from that much earlier.
        if i + 1 < len(self.schedule) and i + 1 not in self.skipped:
            start = self.schedule[i + 1][0]
            early = min(0.0, self._lag(i)) if resting == 0.0 and i not in self.skipped else 0.0
            if start - LEAD_S + early <= p < start:
                self.person(i + 1).update(p - start, common, world, frame_size)
        frame = None
        if p < 0:  # the countdown before the first part: its counter sees the start position, nothing is scored
            frame = self.person(0).update(p, common, world, frame_size)
        elif over:  # the program's end: the last repetition under way finishes on the TV too
            frame = graced if graced is None else dataclasses.replace(graced, reps=self._count(self.persons[i]))
        elif resting == 0.0 and i not in self.skipped:
            if i not in self._started:  # what the counter saw before the part is no repetition of it ...
                self._started.add(i)
                b = self._boundary(i)  # ... unless done after the person's own boundary (ahead of the instructor)
                begin_part(self.person(i).scorer.reps, min(0.0, b - self.schedule[i][0]) if b is not None else 0.0,
                           self.person(i).scorer)
            frame = self.person(i).update(part_t, common, world, frame_size)
            self._hand_over(i)
            counter = self.person(i).scorer.reps
            if frame.scored and counter is not None and counter.count == 0:
                # Nothing of this part done yet: no running score (a built part's share of green frames
                # was 100 for a person standing still at its start, "0/6, 점수 100" on the TV).
                frame = dataclasses.replace(frame, scored=False)
            if self.stopped(i, part_t, frame.angles):  # resting is not wrong: no colours, the words say so
                frame = dataclasses.replace(frame, joint_status={j: "none" for j in frame.joint_status},
                                            joint_error_deg={}, verdict="none", guidance=REST_OK)
        # A rest's last few milliseconds stay a rest (0.01 s, not rounded to 0): a Score of the part
        # just ended with resting_s 0 put the TV back on that part's exercise screen, "1/3 · 0/4".
        resting = max(0.01, round(resting, 2)) if resting > 0 else 0.0
        frames_now, scored_now = self._parts_frames()
        self.frames += frames_now > frames_before
        self.frames_scored += scored_now > scored_before
        return ProgramFrame(part=i, part_t_s=round(part_t, 3), resting_s=resting,
                            progress=min(1.0, max(0.0, p) / self.program.duration_s) if self.program.duration_s else 1.0,
                            frame=frame)

    def stopped(self, i: int, t: float, angles: dict) -> bool:
        """Whether the person has not been doing part i for the last StillWatch.window_s (STOPPED_S,
        longer at a slow pace: the instructor's repetition period): its moving joints
        went through less than REST_SHARE of the routine's own range, or were not seen."""
        if i not in self._still:
            self._still[i] = StillWatch(self.program.parts[i].routine, period_s=self._period(i))
        return self._still[i].stopped(t, angles)

    @staticmethod
    def _count(person: PersonSession) -> int:
        reps = person.scorer.reps
        return reps.count if reps else 0

    @staticmethod
    def _midway(person: PersonSession) -> int:
        reps = person.scorer.reps
        return sum(c.state == "out" for c in reps.counters.values()) if reps else 0

    def _cap(self, k: int) -> None:
        """After a part's end only the repetitions under way at its end may finish, or those that bring
        the person up to the instructor's count: never more (the sit-ups' last sit-up was back up
        before the cut, and the squat after it bent the hips the same way)."""
        reps = self.persons[k].scorer.reps
        if reps and reps.count > self._count_at_end[k] + self._finishing.get(k, 1) and not self._owed(k, reps):
            reps.count -= 1  # the next movement's, not this part's: it hears no more
            self._closed.add(k)
        allowed = max(self._count_at_end[k] + self._finishing.get(k, 1), self.program.parts[k].reps or 0)
        if reps and reps.count > allowed:
            reps.count = allowed

    def _owed(self, k: int, reps) -> bool:
        """Whether the repetition part k just counted after its end is the person's own, owed to the
        instructor's count, not the next movement's: its middle no later than the instructor's same
        repetition's, plus the person's lag (measured on their repetitions before the end), plus half a
        repetition period. A person who left out the last lateral raise and went on to the jumping
        jacks had the jacks' first raise counted as it (4 of 3); one 1.0 s behind does hers on time.
        Without a lag to measure (nothing counted before the end, or the instructor's repetitions not
        found in the keyframes) it counts, as heard."""
        done = self._count_at_end[k]
        taught = self._taught_middles(k)
        own = sorted(m for c in reps.counters.values() for m in c.middles)
        if done == 0 or len(taught) < len(own) or len(own) <= done:
            return True
        lag = float(np.median([own[j] - taught[j] for j in range(done)]))
        return own[-1] <= taught[len(own) - 1] + lag + self._period(k) / 2

    def _taught_middles(self, k: int) -> list:
        """The middles (part time) of the instructor's repetitions in part k: its routine's keyframes
        (a looping routine's cycle repeated over the part) counted as a participant's are."""
        if k not in self._taught:
            from common.coach.reps import RepCounter

            part, middles = self.program.parts[k], []
            routine = part.routine
            if routine.reps is not None and routine.keyframes:
                counter = RepCounter(routine.reps, routine.rep_reference())
                begin_part(counter)
                cycle = routine.cycle_s if routine.loop and routine.cycle_s > 0 else 0.0
                for n in range(int(part.duration_s // cycle) + 1 if cycle else 1):
                    for kf in routine.keyframes:
                        if n * cycle + kf.t <= part.duration_s:
                            counter.update(n * cycle + kf.t, kf.angles)
                middles = sorted(m for c in counter.counters.values() for m in c.middles)
            self._taught[k] = middles
        return self._taught[k]

    def checkpoint(self) -> dict:
        """What a restarted scoring service needs to go on with this session (JSON-safe)."""
        return {"skipped_s": self.skipped_s, "skipped": sorted(self.skipped), "started": sorted(self._started),
                "count_at_end": {str(k): v for k, v in self._count_at_end.items()}, "current": self.current,
                "finishing": {str(k): v for k, v in self._finishing.items()},
                "closed": sorted(self._closed), "frames": self.frames, "frames_scored": self.frames_scored,
                "last_t": self.last_t, "parts": {str(i): p.scorer.checkpoint() for i, p in enumerate(self.persons)
                                                  if p is not None}}

    def restore(self, state: dict) -> None:
        self.skipped_s, self.skipped, self._started = state["skipped_s"], set(state["skipped"]), set(state["started"])
        self._count_at_end = {int(k): v for k, v in state["count_at_end"].items()}
        self._finishing = {int(k): v for k, v in state.get("finishing", {}).items()}
        self._closed = {int(k) for k in state.get("closed", [])}
        self.current, self.last_t = state["current"], state["last_t"]
        for i, scorer_state in state["parts"].items():
            self.person(int(i)).scorer.restore(scorer_state)
        # (a checkpoint from before these were kept: the parts' own, as the summary summed them then)
        parts_frames = self._parts_frames()
        self.frames, self.frames_scored = state.get("frames", parts_frames[0]), state.get("frames_scored", parts_frames[1])

    def skip(self, t: float) -> int:
        """The remote's skip at time t: the current part (or the rest after it) ends now and the
        next part starts. Returns the part now current."""
        i, _, resting = self.locate(t)
        if i >= len(self.schedule) - 1:
            return i
        if resting == 0.0:
            self.skipped.add(i)
        self.skipped_s += self.schedule[i + 1][0] - (t + self.skipped_s)
        return i + 1

    def part_summary(self, i: int) -> dict:
        part = self.program.parts[i]
        entry = {"part": i, "name": part.name, "routine": part.routine.name, "target_reps": part.reps,
                 "reps": 0, "reps_by_side": {}, "score": None, "scored": False, "rom": {}, "joints": {},
                 "rested": False, "skipped": i in self.skipped, "reached": self.persons[i] is not None,
                 # a part without a repetition rule (a dance, a stretch held) is timed: nothing to count
                 "timed": part.routine.reps is None,
                 # the movement it was recognised as ("" for none, e.g. a free dance): the carers' pages
                 # compare left and right only where the movement means them to match (program_results)
                 "movement": recognised_movement(part.routine),
                 # added: why a part has no score ("" when scored): "skipped", "rested", "not_reached",
                 # "no_repetitions" (a counted movement with none counted: not done, not a 0) or
                 # "nothing_judged" (moving, no whole repetition to judge); left out of the program score
                 "not_scored": ""}
        person = self.persons[i]
        if person is None:
            # Never reached (the session was stopped, or the video ended first): not done, not wrong.
            entry["rested"] = not entry["skipped"]
            entry["not_scored"] = "skipped" if entry["skipped"] else "not_reached"
            return entry
        s = person.summary(COMPLETED)
        entry.update(reps=s["reps"], reps_by_side=s.get("reps_by_side", {}), rom=s["range_of_motion"],
                     joints=s["joints"], frames=s["frames"], frames_scored=s["frames_scored"])
        if entry["skipped"]:
            entry["not_scored"] = "skipped"
            return entry
        if rested(part.routine, s):
            entry.update(rested=True, not_scored="rested")
            return entry
        if not entry["timed"] and not s["reps"]:
            # A counted movement the person did none of was not done: no score, not a 0 averaged into
            # the program's (a trial's lateral raises, counted 0, scored 0: the program 57 for 100 and 0).
            entry["not_scored"] = "no_repetitions"
            return entry
        if not person.scorer.running_score_judged():  # moving, but no whole repetition to judge: no score, not 0
            entry["not_scored"] = "nothing_judged"
            return entry
        entry.update(score=s["score"], scored=True)
        if entry["timed"]:
            at_lag = timed_score(person.scorer, part.duration_s)
            if at_lag is not None:
                entry.update(score=at_lag["score"], joints=at_lag["joints"], lag_s=at_lag["lag_s"])
        return entry

    def summary(self, ended: str) -> dict:
        parts = [self.part_summary(i) for i in range(len(self.program.parts))]
        scored = [p for p in parts if p["scored"]]
        score = program_score(parts)
        # Each joint's range of motion in the program: its widest in one movement (that part's lowest and
        # highest). Not the lowest and highest over all the parts: that spanned different movements, the
        # trunk's angle to upright from a side-on squat's forward lean (-43) to a sit-up's lying (+95),
        # 138 deg, which no trunk bends (the trial showed carers 190).
        rom: dict = {}
        for p in parts:
            for j, r in p["rom"].items():
                if j not in rom or r["range"] > rom[j]["range"]:
                    rom[j] = {"min": r["min"], "max": r["max"], "range": r["range"]}
        joints: dict = {}
        for p in scored:
            for j, v in p["joints"].items():
                joints.setdefault(j, []).append(v)
        weakest = min(scored, key=lambda p: p["score"])["part"] if len(scored) >= 2 else None
        return {
            "program": self.program.name, "program_title": self.program.title, "score_means": "program",
            "score": score if score is not None else 0.0, "scored_parts": len(scored), "parts": parts,
            "weakest_part": weakest,
            "reps": sum(p["reps"] for p in parts),
            # a program in which no part was scored and nothing counted holds no exercise (session.exercised)
            "exercised": bool(scored) or any(p["reps"] for p in parts),
            "frames": self.frames, "frames_scored": self.frames_scored,  # each frame once
            "joints": {j: round(sum(v) / len(v), 3) for j, v in joints.items()},
            "range_of_motion": rom, "routine": f"program:{self.program.name}", "kind": "program",
            "ended": ended, "duration_s": self.program.duration_s,
            **({"video_ended_s": round(self.video_end_t, 2)} if ended == VIDEO_ENDED and self.video_end_t else {}),
            **({"video_looped": self.video_looped} if self.video_looped else {}),
            # poses_per_s, too_few_poses: every part's repetitions say how often each was read
            **self.readings.summary([d for p in self.persons if p is not None for d in repetition_periods(p.scorer.reps)]),
        }


LAG_STEP_S = 0.05  # the lags a timed part is compared at, this far apart (under two frames at 30 fps)


def timed_score(scorer, duration_s: float) -> dict | None:
    """A timed part's score at the person's own lag: a part with nothing to count has no repetitions
    to align the person's with, and frame by frame they were compared with the instructor at the same
    moment (TempoTracker follows a tempo, not a person 1.5 s behind from the first frame: the trial's
    dance, copied exactly 1.5 s late, scored 11 and 20, 97 and 80 in step). Every lag from MAX_LAG_S
    ahead to MAX_LAG_S behind is tried, as counted parts measure a person's lag within it (_lag); at
    each, a frame is green with every joint seen within its tolerance of the instructor's posture
    then (within a frame's timing slack, as SessionScorer judges frames), judged when at least half
    the joints are seen. The lag with most green frames is the person's (the nearer to 0 on a tie),
    over at least half the part (a lag leaving only a moment to compare judges nothing).
    {"score", "joints": each joint's share of green frames, "lag_s"}; None with nothing judged."""
    samples = getattr(scorer, "_samples", [])  # (part time, each routine joint's angle or NaN) of judged frames
    if len(samples) < 2 or duration_s <= 0:
        return None
    routine = scorer.routine
    joints = list(routine.joints)
    times = np.array([t for t, _ in samples])
    angles = np.array([a for _, a in samples], dtype=float)
    if angles.ndim != 2 or angles.shape[1] != len(joints):
        return None
    interval = float(np.median(np.diff(times))) if len(times) > 1 else 0.0
    slack = min(max(interval, 0.0), scorer.max_timing_slack_s)
    grid = np.arange(0.0, duration_s + LAG_STEP_S / 2, LAG_STEP_S / 2)
    lo = np.full((len(grid), len(joints)), np.nan)
    hi = np.full((len(grid), len(joints)), np.nan)
    for g, at in enumerate(grid):
        band = routine.target_range(float(at), slack)
        for k, j in enumerate(joints):
            if j in band:
                lo[g, k], hi[g, k] = band[j]
    tol = np.array([routine.joints[j].tolerance for j in joints]) * scorer.tolerance_scale
    best = None
    for lag in np.arange(-MAX_LAG_S, MAX_LAG_S + LAG_STEP_S / 2, LAG_STEP_S):
        at = times - lag
        inside = (at >= 0) & (at <= duration_s)
        if at[inside].size < 2 or at[inside].max() - at[inside].min() < duration_s / 2:
            continue
        g = np.clip(np.round(at[inside] / (LAG_STEP_S / 2)).astype(int), 0, len(grid) - 1)
        a, low, high = angles[inside], lo[g], hi[g]
        seen = np.isfinite(a) & np.isfinite(low)
        off = np.where(a < low, low - a, np.where(a > high, a - high, 0.0))
        within = seen & (off <= tol)
        judged = seen.sum(axis=1) * 2 >= len(joints)
        if not judged.any():
            continue
        green = (within | ~seen).all(axis=1) & judged
        share = float(green.sum() / judged.sum())
        key = (round(share, 6), -abs(float(lag)))
        if best is None or key > best[0]:
            figures = {j: round(float(within[judged, k].sum() / max(1, seen[judged, k].sum())), 3)
                       for k, j in enumerate(joints) if seen[judged, k].any()}
            best = (key, share, float(lag), figures)
    if best is None:
        return None
    _, share, lag, figures = best
    return {"score": round(100.0 * share, 1), "joints": dict(sorted(figures.items(), key=lambda kv: kv[1])),
            "lag_s": round(lag, 2) + 0.0}  # (+ 0.0: never "-0.0")


def recognised_movement(routine) -> str:
    """The movement a part's routine is (common/coach/cues.py: a bundled routine's, or the one a
    built part was recognised as), "" when it is none the box knows (its cue words only generic)."""
    from common.coach.cues import GENERIC, movement_of

    movement = movement_of(routine)
    return "" if movement == GENERIC else movement


def take_back(scorer, not_its_own, waiting: bool = True) -> None:
    """A part's counter gives back the repetitions whose middle (its own time) `not_its_own(middle)`
    says were not this part's (and, `waiting`, one waiting for a second like it); its scorer no
    longer holds them counted (SessionScorer.take_back)."""
    reps = scorer.reps
    if reps is None:
        return
    for group, counter in reps.counters.items():
        keep = [k for k, m in enumerate(counter.middles) if not not_its_own(m)]
        gone = [m for k, m in enumerate(counter.middles) if k not in keep]
        if gone:
            for name in ("middles", "durations", "depths"):
                values = getattr(counter, name)
                setattr(counter, name, [values[k] for k in keep] if len(values) == len(gone) + len(keep) else values)
            counter.count = max(0, counter.count - len(gone))
            scorer.take_back(group, gone)
        if waiting and counter.waiting is not None and not_its_own(counter.waiting[2]):
            counter.waiting = None


def begin_part(reps, before: float = 0.0, scorer=None) -> None:
    """A part's repetition counter as the part starts: what it saw before (LEAD_S, the end of the
    previous movement) is no repetition of the part, neither counted nor waiting for a second like
    it (RepRule.repeats): the lateral raises' last raise, waiting, was confirmed by the jumping
    jacks' first jack after them (7 jacks of 6). A repetition under way as the part starts still
    counts (a cut placed a moment late), but until the part's first repetition counts, one whose way
    out was not seen (reps._Counter.judge_way_out: its first frame out already at its turning point)
    is half a repetition: the jumping jacks' opening half jack after the lateral raises' arms down,
    which the video's cut took from one movement's end pose to the top of a jump."""
    if reps is None:
        return
    if scorer is None:  # an instructor's count (segment.count_reps, _taught_middles): nothing judged by it
        for counter in reps.counters.values():
            counter.count, counter.waiting = 0, None
    elif before < 0:  # a person ahead of the instructor keeps what they did after their own boundary
        take_back(scorer, lambda m: m < before)
    else:
        take_back(scorer, lambda m: True)
        for counter in reps.counters.values():
            counter.count, counter.waiting = 0, None
    for counter in reps.counters.values():
        counter.judge_way_out = True


def rested(routine, summary: dict) -> bool:
    """Whether the person stopped for this part rather than doing it badly: hardly seen, or no
    repetition and the moving joints through less than REST_SHARE of the routine's own range."""
    if summary["frames"] == 0 or summary["frames_scored"] < SEEN_SHARE * summary["frames"]:
        return True
    if summary["reps"] > 0:
        return False
    targets = moving_ranges(routine)
    rom = summary["range_of_motion"]
    moved = [rom[j]["range"] / target for j, target in targets.items() if j in rom]
    return not moved or max(moved) < REST_SHARE

