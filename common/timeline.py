"""The session's accuracy second by second: the strip under the TV's panels, the summary's
`timeline` field (docs/messages.md) and the report's plot all come from this one fold.

A second's verdict is the one most of its scored frames got (a tie goes to the worse, so the
strip never flatters); a second with no scored frame (nobody in view, most joints hidden) is
unscored. Written as one character per second: c correct, n near, w wrong, - unscored.

The session summary's strip of a looping routine, and so the report's plot and best_and_worst's
stretches, is the score's own judgement in the same letters (common/coach/scoring.py
SessionScorer.posture: per second, the aligned repetitions' figure coloured by share_verdict; '-'
outside them), so that the score, the joint bars, the strip and the words agree. The TV's live strip
of a single routine is that same judgement as it stands (SessionScorer.judged_strip, sent as
Score.judged_strip; services/renderer/screen.py live_strip shows the seconds it has not judged yet as
such), so it ends as the summary's strip. This fold of the frames' verdicts stays the strip of a
choreography's summary and a program's live strip.
"""
from __future__ import annotations

from dataclasses import dataclass, field

CODES = {"correct": "c", "near": "n", "wrong": "w"}  # from best to worst
UNSCORED = "-"
VERDICT_OF = {code: verdict for verdict, code in CODES.items()}
_SLOT = {verdict: i for i, verdict in enumerate(CODES)}
MAX_SECONDS = 4 * 3600  # a routine longer than this is not a session; later seconds are not kept


@dataclass
class VerdictTimeline:
    counts: list[list[int]] = field(default_factory=list)  # per second: frames correct, near, wrong

    def __post_init__(self):
        # Each second's code, kept as frames arrive: the TV reads the whole strip 30 times a
        # second, and a long routine has thousands of seconds.
        self._codes = [second_code(c) for c in self.counts]

    def add(self, t: float, verdict: str) -> None:
        """One frame's verdict at routine time t (seconds). The countdown counts nothing; "none"
        counts no verdict but its second is passed (unscored, not missing)."""
        if t < 0 or t >= MAX_SECONDS:
            return
        second = int(t)
        while len(self.counts) <= second:
            self.counts.append([0, 0, 0])
            self._codes.append(UNSCORED)
        if verdict in _SLOT:
            self.counts[second][_SLOT[verdict]] += 1
            self._codes[second] = second_code(self.counts[second])

    def codes(self) -> str:
        return "".join(self._codes)


def second_code(counts: list[int]) -> str:
    if not any(counts):
        return UNSCORED
    best = max(counts)
    # The worse verdict wins a tie: the slots run from best to worst.
    return list(CODES.values())[max(i for i, n in enumerate(counts) if n == best)]


MIN_WINDOW_S = 3  # a "part" of a routine shorter than this is a moment, not a stretch to practise


def best_and_worst(codes: str, window_s: int = 10) -> tuple[tuple[int, int, float], tuple[int, int, float]] | None:
    """The stretch of the routine that went best and the one that went worst: windows of
    `window_s` seconds (shorter routines: a fifth of them, at least MIN_WINDOW_S), each as
    (start s, end s, share of its scored seconds correct). None when fewer than two windows have
    a scored second, or when none went better than another: the same stretch is never named
    both best and worst (a 6 s session said "best 0:00-0:01, practise 0:00-0:01")."""
    window = max(MIN_WINDOW_S, min(window_s, len(codes) // 5 or 1))
    bounds = list(range(0, len(codes), window)) + [len(codes)]
    if len(bounds) > 2 and bounds[-1] - bounds[-2] < window / 2:
        del bounds[-2]  # a last scrap of a second or two joins the part before it, not a "part" of its own
    windows = []
    for start, end in zip(bounds, bounds[1:]):
        judged = [k for k in range(start, end) if codes[k] != UNSCORED]
        if judged:  # named by its judged seconds only: a part is not "best" for seconds nobody judged
            share = sum(codes[k] == "c" for k in judged) / len(judged)
            windows.append((judged[0], judged[-1] + 1, share))
    if len(windows) < 2:
        return None
    best = max(windows, key=lambda w: (w[2], -w[0]))  # the earliest of equals
    worst = min(windows, key=lambda w: (w[2], w[0]))
    if best[2] == worst[2]:
        return None
    return best, worst


def clock(seconds: int) -> str:
    """m:ss, as a person reads a place in a routine."""
    return f"{seconds // 60}:{seconds % 60:02d}"


def share_verdict(share: float) -> str:
    """The verdict (colour) of a share of time in the right position, 0-1: a joint's bar on the
    TV's summary and in the carer's report. Correct from 70 %, near from 40 %."""
    return "correct" if share >= 0.7 else "near" if share >= 0.4 else "wrong"
