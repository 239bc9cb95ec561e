"""Whether a person is doing a routine's movement at all, measured against the routine's own range:
the rest detector of a program's parts (common/coach/program_session.py) and of a single
routine's session (common/coach/session.py), written once.

A person who stands still is not doing the movement badly: after STOPPED_S in which the joints
that make the movement went through less than REST_SHARE of the routine's own range (or were
not seen), the TV is given calm words instead of a green "잘하고 있어요!" or red corrections.
Relative to the routine's range, not a fixed number of degrees, so it holds for small and large
movements alike.
"""
from __future__ import annotations

from collections import deque

from common.coach.scoring import MOVING_JOINT_DEG, REST_SHARE

STOPPED_S = 3.0  # not moving (or not seen) for this long: not coloured, told what to do instead
# ... or for this many of the instructor's repetition periods, when longer: a slow movement's own held
# moments are no rest (the demo's drawn squat, 5 s a squat, held still 3 s of each: "쉬셔도 괜찮아요"
# for 0.1-0.2 s every squat); one period and a half, for a person a little slower than the instructor.
STILL_PERIODS = 1.5


def moving_ranges(routine) -> dict[str, float]:
    """The joints that make the routine's movement (its repetition joints, else those whose target
    moves MOVING_JOINT_DEG or more) and how far each target moves, degrees."""
    ranges = routine.angle_spans
    spans = {j: ranges[j][1] - ranges[j][0] for j in routine.joints if j in ranges}
    joints = [j for j in (routine.reps.joints if routine.reps else ()) if spans.get(j)] or \
        [j for j, span in spans.items() if span >= MOVING_JOINT_DEG]
    return {j: spans[j] for j in joints}


class StillWatch:
    """Watches one routine's moving joints over the last STOPPED_S of its time t (seconds).
    `unseen_is_still`: moving joints not seen at all count as not doing the movement (a program's
    part: someone who stepped away rests); False for a single routine, where the framing hints
    (frame.step_back...) tell a person whose knees are out of the picture what to do."""

    def __init__(self, routine, unseen_is_still: bool = True, period_s: float = 0.0):
        self.moving = moving_ranges(routine)
        self.unseen_is_still = unseen_is_still
        # how long a person must not move to be still: STOPPED_S, or longer at a slow pace (period_s:
        # the instructor's seconds per repetition; 0 unknown)
        self.window_s = max(STOPPED_S, STILL_PERIODS * period_s)
        self._recent: deque = deque()  # (t, angles of the moving joints)

    def stopped(self, t: float, angles: dict) -> bool:
        """Whether the person has not been doing the movement for the last window_s: its moving
        joints went through less than REST_SHARE of the routine's own range, or were not seen."""
        if not self.moving:
            return False
        recent, window = self._recent, self.window_s
        recent.append((t, {j: angles.get(j) for j in self.moving}))
        while recent and recent[0][0] < t - window:
            recent.popleft()
        if t < window or recent[0][0] > t - window + 0.5:  # not yet watched long enough
            return False
        any_seen = False
        for j, target in self.moving.items():
            seen = [a[j] for _, a in recent if a.get(j) is not None]
            any_seen = any_seen or bool(seen)
            if seen and max(seen) - min(seen) >= REST_SHARE * target:
                return False
        return any_seen or self.unseen_is_still
