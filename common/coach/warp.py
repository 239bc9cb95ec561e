"""Where in the routine the participant is: online time warping with bounded tempo.

Seniors move more slowly than instructors and slow down as a session goes on, so the routine
position τ that a participant's pose should be compared with is not the clock t minus a constant.
TempoTracker keeps, for every candidate position s on a 0.01 s grid in a window of ±3 s around
its best guess, the cost of the cheapest path that reaches s now: a path advances by r·dt each
frame with a tempo r between `min_rate` and `max_rate` (0.5x to 10x the instructor for a routine
of repetitions, to 2x for one that does not loop), and its cost is an exponential moving average
(time constant `memory_s`) of the angle error along it plus a small charge for tempos far from 1
(which only breaks ties). A step also pays for the routine moments it passes between two frames,
each against the nearer of the two poses, more for faster steps (`skip_power`): a fast person
passed through them, one standing still or half-moving did not. The position judged, τ, is the
cheapest one that keeps the judged track's tempo over the last second within the same bounds.

The bounds are the guard against warping making any movement match: no path can stand still,
and the judged track cannot hop between staggered paths to stay on the routine's easy moments, so
a participant who stands still, half-moves or does another exercise still meets the routine's
other poses and scores low. The lower bound is 0.5x, below the 0.6x the product promises,
because a slow participant filmed at 10 fps repeats frames (the tempo within a second is uneven).

At the start a path may begin anywhere within `start_window_s` of the clock (a senior who starts
a second late is not wrong). On a looping routine, a participant who falls a whole cycle behind
the clock re-joins at the next repetition: τ moves one cycle on (the targets repeat, so nothing
they did is judged differently) and `rejoined` counts it, so the TV can say kindly that going
slowly is fine. One who runs half a cycle ahead is moved one cycle back (`ahead` counts it), so a
fast person's τ never passes the routine's end and the instructor shown stays near the clock.

Per frame: two errors per grid position in the window (~600: this pose and the last) and one
interpolation and running-sum difference per tempo step (12), all vectorised; memory is the window plus a table of the routine's targets on the grid.
"""
from __future__ import annotations

import math
import warnings
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from common.coach.routine import Routine

ERROR_CAP_DEG = 60.0
# The fastest tempo followed, x the routine's. A routine of repetitions: real people do them at
# their own pace, up to 9x the bundled routines' (18 knee lifts in 6 s against a 6 s march), and
# the session score follows any pace (align_cycles), so the colours must too. A routine that does
# not loop (a choreography made from a video) is followed at up to 2x.
MAX_RATE_REPEATING = 10.0
MAX_RATE_ONCE = 2.0
RATE_STEPS = 12  # tempos tried per frame, evenly spaced in ratio between min_rate and max_rate


@dataclass
class TempoTracker:
    routine: Routine
    step_s: float = 0.01  # finer than the least a path advances in a frame at 30 fps (0.5 x 33 ms)
    min_rate: float = 0.5
    max_rate: float | None = None  # None: MAX_RATE_REPEATING for a looping routine, else MAX_RATE_ONCE
    memory_s: float = 2.0
    start_window_s: float = 1.5
    window_s: float = 3.0
    tempo_window_s: float = 1.0  # the judged track keeps min_rate..max_rate over this long
    # Charged per unit of |rate - 1| (degrees of mean error): the natural tempo wins a tie.
    rate_charge_deg: float = 3.0  # per unit of |ln rate|: 2x and 0.5x are charged alike
    # A step at tempo r > 1 charges the moments it passes r**skip_power times: racing through the
    # routine costs more than moving at its pace (0: fast good form green more often, and arms
    # raised halfway against a full raise too; 1: fast real movers red again; docs/scoring.md).
    skip_power: float = 0.5
    position: float | None = None  # τ, routine seconds
    tempo: float = 1.0  # smoothed dτ/dt
    rejoined: int = 0
    ahead: int = 0  # times τ moved one cycle back because the person ran a cycle ahead (not a fault)
    _t: float | None = None
    _prev_angles: dict | None = None
    _grid0: float = field(init=False)
    _targets: np.ndarray = field(init=False)
    _joints: list = field(init=False)
    _window: np.ndarray | None = None  # grid indices
    _cost: np.ndarray | None = None
    _rates: np.ndarray = field(init=False)
    _track: deque = field(default_factory=deque)  # (t, position) of the judged positions, last second
    _started: float = 0.0

    def __post_init__(self):
        if self.max_rate is None:
            self.max_rate = MAX_RATE_REPEATING if self.routine.loop and self.routine.cycle_s > 0 else MAX_RATE_ONCE
        self._joints = list(self.routine.joints)
        end = self.routine.duration_s + self.window_s + self.start_window_s
        self._grid0 = -self.start_window_s - self.window_s
        times = np.arange(self._grid0, end + self.step_s, self.step_s)
        rows = [self.routine.target(max(0.0, s)) for s in times]
        targets = np.array([[row.get(j, np.nan) for j in self._joints] for row in rows])
        # A joint a keyframe lacks costs the cap; past the routine's end nothing may be matched
        # (a repetitive movement would otherwise let a path one repetition ahead look as good).
        self._targets = np.where(np.isnan(targets), np.inf, targets)
        self._targets[times > self.routine.duration_s + self.step_s] = np.inf
        self._rates = np.geomspace(self.min_rate, self.max_rate, RATE_STEPS)

    def _index(self, s: float) -> int:
        return int(round((s - self._grid0) / self.step_s))

    def _errors(self, idx: np.ndarray, angles: dict) -> np.ndarray | None:
        have = [k for k, j in enumerate(self._joints) if angles.get(j) is not None]
        if not have:
            return None
        seen = np.array([angles[self._joints[k]] for k in have])
        lo, hi = max(0, int(idx[0])), min(len(self._targets), int(idx[-1]) + 1)  # idx is contiguous
        if hi <= lo:  # the whole window is past the routine's end (or before its start): nothing matches
            return np.full(len(idx), np.inf)
        block = self._targets[lo:hi][:, have] if len(have) < len(self._joints) else self._targets[lo:hi]
        err = np.minimum(np.abs(block - seen), ERROR_CAP_DEG).mean(axis=1)
        past_end = np.isinf(block).all(axis=1)
        err[past_end] = np.inf
        out = np.full(len(idx), np.inf)
        out[lo - int(idx[0]):hi - int(idx[0])] = err
        return out

    def update(self, t: float, angles: dict) -> float:
        """The participant's routine position τ at clock time t (seconds)."""
        if self._cost is None:
            # Seniors start late far more often than early: up to start_window_s behind, 0.5 s ahead.
            lo, hi = self._index(t - self.start_window_s), self._index(t + 0.5)
            idx = np.arange(lo, hi + 1)
            err = self._errors(idx, angles)
            if err is None:
                return t
            positions = self._grid0 + idx * self.step_s
            # Ties (a held first pose matches every s <= 0) go to the clock.
            self._window, self._cost = idx, err + 0.1 * np.abs(positions - t)
            self._started = t
        else:
            dt = max(t - self._t, 1e-3)
            centre = self.position + self.tempo * dt
            idx = np.arange(self._index(centre - self.window_s), self._index(centre + self.window_s) + 1)
            positions = self._grid0 + idx * self.step_s
            # Every tempo at once: where each position came from at each rate, and that path's cost.
            came_from = self._cost_at(positions[None, :] - self._rates[:, None] * dt)
            charge = self.rate_charge_deg * np.abs(np.log(self._rates)) * dt / self.memory_s
            err = self._errors(idx, angles)
            alpha = 1.0 - math.exp(-dt / self.memory_s)
            if err is None:  # nobody seen: carry the paths on, judge nothing
                cost = (came_from + charge[:, None]).min(axis=0)
            else:
                # A fast step passes over routine moments between two frames: each is charged the
                # nearer of this pose and the previous one (a person moving fast was between them),
                # so a path cannot race through the moments a person standing still or half-moving
                # never reaches (the symmetric DTW's rule, online).
                passed = self._passed_errors(idx, err, dt)
                weight = np.maximum(1.0, self._rates) ** self.skip_power
                step = 0.5 * (err[None, :] + weight[:, None] * passed)
                cost = ((1 - alpha) * came_from + alpha * step + charge[:, None]).min(axis=0)
            reachable = np.isfinite(cost)
            if not reachable.any():  # lost entirely (a long gap): start again around the clock
                self._cost = None
                self._track.clear()
                return self.update(t, angles)
            self._window, self._cost = idx, cost
        positions = self._grid0 + self._window * self.step_s
        choice = self._cost
        while len(self._track) > 1 and t - self._track[1][0] >= self.tempo_window_s:
            self._track.popleft()
        if self._track and t - self._started >= self.start_window_s:
            # The position judged must keep a bounded tempo over the last second of this track:
            # jumping to whichever staggered path matches best this frame would let a participant
            # who stands still, or half-moves, be matched to the routine's easy moments. Within
            # the second a frame may hold (repeated frames, a pause between movements).
            t_ref, ref = self._track[0]
            span = t - t_ref
            allowed = (positions >= ref + self.min_rate * span - 1e-9) & (positions <= ref + self.max_rate * span + 1e-9)
            if np.isfinite(self._cost[allowed]).any():
                choice = np.where(allowed, self._cost, np.inf)
        best = float(positions[int(np.argmin(choice))])
        self._track.append((t, best))
        if self.position is not None and self._t is not None:
            rate = (best - self.position) / max(t - self._t, 1e-3)
            self.tempo += (1.0 - math.exp(-max(t - self._t, 1e-3) / self.memory_s)) * (
                min(self.max_rate, max(self.min_rate, rate)) - self.tempo)
        self.position, self._t = best, t
        self._prev_angles = angles if angles else self._prev_angles
        self._maybe_rejoin(t)
        return self.position

    def _passed_errors(self, idx: np.ndarray, err: np.ndarray, dt: float) -> np.ndarray:
        """Per tempo (rows) and position (columns): the mean error over the routine moments a step
        at that tempo passes to reach the position, each moment against the nearer of this pose
        and the previous one (vectorised with a running sum over the window)."""
        prev = self._errors(idx, self._prev_angles) if self._prev_angles else None
        between = err if prev is None else np.minimum(err, prev)
        between = np.where(np.isfinite(between), between, ERROR_CAP_DEG)
        running = np.concatenate([[0.0], np.cumsum(between)])  # running[k]: sum of the first k
        cells = np.maximum(self._rates * dt / self.step_s, 1e-9)[:, None]
        end = np.arange(1, len(idx) + 1)[None, :]  # up to and including this position
        start = np.clip(end - cells, 0, len(idx))
        lo = np.floor(start).astype(np.intp)
        at_start = running[lo] + (start - lo) * between[np.minimum(lo, len(idx) - 1)]
        covered = np.maximum(end - start, 1e-9)
        return (running[end] - at_start) / covered

    def _cost_at(self, positions: np.ndarray) -> np.ndarray:
        """The previous frame's path costs at off-grid positions: linear between the two grid
        neighbours, inf where either is unreachable or outside the window (so no path can creep
        backwards or stand still by rounding to a neighbour)."""
        x = (positions - self._grid0) / self.step_s - self._window[0]
        lo = np.floor(x)
        frac = x - lo
        n = len(self._cost)
        padded = np.concatenate([[np.inf], self._cost, [np.inf]])  # index 0 and n + 1: outside
        at = np.minimum(np.maximum(lo.astype(np.intp) + 1, 0), n + 1)
        left, right = padded[at], padded[np.minimum(at + 1, n + 1)]
        with np.errstate(invalid="ignore"):  # 0 x inf next to an unreachable neighbour
            both = (1 - frac) * left + frac * right
        return np.where(np.isfinite(left) & np.isfinite(right), both, np.inf)

    def _maybe_rejoin(self, t: float) -> None:
        cycle = self.routine.cycle_s if self.routine.loop else 0.0
        if cycle > 0 and self.position - t > cycle / 2 and self.position - cycle >= 0:
            # Half a cycle ahead of the clock (a fast person): the same moment one cycle back,
            # so τ never runs past the routine's end and the instructor shown stays near the clock.
            self._shift(-int(round(cycle / self.step_s)))
            self.ahead += 1
            return
        if cycle <= 0 or t - self.position <= cycle or self.position + cycle > self.routine.duration_s:
            return
        self._shift(int(round(cycle / self.step_s)))
        self.rejoined += 1

    def _shift(self, shift: int) -> None:
        self._window = self._window + shift
        self.position += shift * self.step_s
        self._track = deque((tt, p + shift * self.step_s) for tt, p in self._track)
        # Before the routine's start the grid holds its first pose (a late starter), not the
        # cycle's end: paths moved there are dropped.
        self._cost = np.where(self._grid0 + self._window * self.step_s < 0, np.inf, self._cost)


# -- repetition by repetition: the session's posture score ---------------------------------------
#
# TempoTracker follows the routine's clock for the TV's colours frame by frame, within bounded
# tempos. The session's posture score asks another question: in each repetition the person did,
# at whatever pace and wherever it fell in time, how close was each joint to the routine's
# posture at the same point of the movement? Reference-video scorers answer it by aligning a
# repetition to a repetition with dynamic time warping (DTW), the boundaries taken from the
# repetition counter or from the alignment itself. Here the alignment finds them: the routine's
# one cycle is the reference, and the warping path may wrap from its end back to its start, so
# it passes through the cycle once per repetition the person did, however many, at any speed,
# with any pause between them. The repetition counter (reps.py) is not needed for it and is not
# bent by it.
#
# The alignment is the symmetric DTW (steps: both on, the person holds, the routine moves on),
# each step charged the pose's mean angle error (capped), so a path cannot skip the part of the
# movement the person left out (the bottom of a squat): the routine's every moment in a
# repetition is matched to one of the person's poses. The person's angles are first resampled
# to RESAMPLE_HZ (linear between frames at most MAX_GAP_S apart) so a 10 fps camera and a fast
# movement are matched between frames, not at the nearest one.

CYCLE_CELLS = 48  # the routine's cycle in this many moments (a 6 s cycle: 0.125 s each)
RESAMPLE_HZ = 60.0
MAX_GAP_S = 0.3


def cycle_targets(routine: Routine, joints: list[str]) -> np.ndarray:
    """The routine's targets at CYCLE_CELLS moments of one cycle (rows) per joint (columns)."""
    cycle = routine.cycle_s
    return np.array([[routine.target(k * cycle / CYCLE_CELLS).get(j, np.nan) for j in joints]
                     for k in range(CYCLE_CELLS)], dtype=float)


def resample(t: np.ndarray, angles: np.ndarray, rate: float = RESAMPLE_HZ,
             max_gap_s: float = MAX_GAP_S) -> np.ndarray:
    """The person's angles (rows: frames at times t; NaN: not seen) on a regular grid at `rate`,
    linear between seen frames at most max_gap_s apart (NaN across longer gaps)."""
    t = np.asarray(t, dtype=float)
    if len(t) < 2:
        return np.asarray(angles, dtype=float).reshape(len(t), -1)
    grid = np.arange(t[0], t[-1] + 1e-9, 1.0 / rate)
    out = np.full((len(grid), angles.shape[1]), np.nan)
    for k in range(angles.shape[1]):
        ok = ~np.isnan(angles[:, k])
        if ok.sum() < 2:
            continue
        tt, values = t[ok], angles[ok, k]
        column = np.interp(grid, tt, values)
        after = np.clip(np.searchsorted(tt, grid), 1, len(tt) - 1)
        gap = tt[after] - tt[after - 1]
        on_a_frame = np.minimum(np.abs(grid - tt[after]), np.abs(grid - tt[after - 1])) < 1e-6
        column[((gap > max_gap_s) & ~on_a_frame) | (grid < tt[0]) | (grid > tt[-1])] = np.nan
        out[:, k] = column
    return out


def _cycle_costs(angles: np.ndarray, cycle: np.ndarray) -> np.ndarray:
    """Each pose's (row's) mean capped angle error against each cycle moment (0: nothing seen)."""
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a pose with no joint seen: mean of nothing
        cost = np.nanmean(np.minimum(np.abs(angles[:, None, :] - cycle[None, :, :]), ERROR_CAP_DEG), axis=2)
    return np.where(np.isnan(cost), 0.0, cost)  # nothing seen: no evidence either way


def _cycle_step(prev: np.ndarray, row: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One pose row of align_cycles' forward pass: (the cheapest total at each moment, how each was
    reached). The routine-moves-on steps within a row are a running minimum."""
    diagonal = np.concatenate([[prev[-1]], prev[:-1]])  # moment 0's diagonal is the wrap
    best = np.minimum(prev, diagonal)
    source = np.where(prev <= diagonal, 0, 1).astype(np.int8)
    if diagonal[0] < prev[0]:
        source[0] = 3
    running = np.cumsum(row)
    before = np.concatenate([[0.0], running[:-1]])
    candidate = best - before
    lowest = np.minimum.accumulate(candidate)
    return running + lowest, np.where(lowest < candidate - 1e-9, 2, source).astype(np.int8)


def _cycle_path(came: np.ndarray, last: np.ndarray) -> list[tuple[int, int]]:
    """Back from the cheapest end (`last`: the last row's totals) to the start."""
    m = came.shape[1]
    i, j = len(came) - 1, int(np.argmin(last))
    path = []
    while True:
        path.append((i, j))
        step = came[i, j]
        if step == 4:
            break
        if step == 0:
            i -= 1
        elif step == 1:
            i, j = i - 1, j - 1
        elif step == 2:
            j -= 1
        else:
            i, j = i - 1, m - 1
    return path[::-1]


def align_cycles(angles: np.ndarray, cycle: np.ndarray) -> list[tuple[int, int]]:
    """The cheapest monotonic path of (pose row, cycle moment) pairs through the person's poses
    (rows of `angles`) and the routine's cycle repeated any number of times: it may start at any
    moment, and wraps from the cycle's last moment to its first. O(rows x moments), vectorised
    per row (the routine-moves-on steps within a row are a running minimum)."""
    n, m = len(angles), len(cycle)
    if n == 0:
        return []
    cost = _cycle_costs(angles, cycle)
    total = cost[0].copy()
    came = np.zeros((n, m), dtype=np.int8)  # 0: pose before, same moment; 1: both before; 2: moment before; 3: wrapped
    came[0] = 4  # start
    for i in range(1, n):
        total, came[i] = _cycle_step(total, cost[i])
    return _cycle_path(came, total)


def align_once(angles: np.ndarray, cycle: np.ndarray) -> list[tuple[int, int]]:
    """The cheapest monotonic path from (the first pose, the cycle's first moment) to (the last pose,
    its last moment), with align_cycles' steps and costs but no wrap: poses known to hold one
    repetition (cut between two the counter counted) aligned with the whole cycle once."""
    n, m = len(angles), len(cycle)
    if n == 0:
        return []
    cost = _cycle_costs(angles, cycle)
    came = np.full((n, m), 2, dtype=np.int8)
    came[0, 0] = 4  # start
    total = np.cumsum(cost[0])
    for i in range(1, n):
        diagonal = np.concatenate([[np.inf], total[:-1]])  # no wrap into moment 0
        best = np.minimum(total, diagonal)
        source = np.where(total <= diagonal, 0, 1).astype(np.int8)
        running = np.cumsum(cost[i])
        candidate = best - np.concatenate([[0.0], running[:-1]])
        lowest = np.minimum.accumulate(candidate)
        total, came[i] = running + lowest, np.where(lowest < candidate - 1e-9, 2, source).astype(np.int8)
    return _cycle_path(came, np.where(np.arange(m) == m - 1, 0.0, np.inf))


def first_change(new: np.ndarray, old: np.ndarray) -> int:
    """The first row of `new` that differs from `old`'s (NaN equals NaN; rows `old` lacks differ)."""
    k = min(len(new), len(old))
    a, b = new[:k], old[:k]
    differs = ~((a == b) | (np.isnan(a) & np.isnan(b))).all(axis=1)
    return int(np.argmax(differs)) if differs.any() else k


class CycleAlignment:
    """align_cycles kept up to date as a session goes on: the forward pass's rows are kept, and a
    new call works out only the rows from the first pose row that changed (new rows, and the last
    few the resampling changed: a joint seen again fills a gap of up to warp.MAX_GAP_S). The path
    is the same as align_cycles' on all the rows (tests/test_score_real.py); a session's cost is
    then linear in its length, not quadratic (the path is still traced back in full: O(rows))."""

    def __init__(self, cycle: np.ndarray):
        self.cycle = cycle
        self.angles = np.empty((0, cycle.shape[1]))
        self.came = np.zeros((0, len(cycle)), dtype=np.int8)
        self.totals = np.zeros((0, len(cycle)))  # each row's totals (a change restarts from the row before)

    def align(self, angles: np.ndarray) -> list[tuple[int, int]]:
        n, m = len(angles), len(self.cycle)
        if n == 0:
            return []
        start = first_change(angles, self.angles)
        if start == n == len(self.angles):
            return _cycle_path(self.came, self.totals[-1])
        cost = _cycle_costs(angles[start:], self.cycle)
        came = np.zeros((n, m), dtype=np.int8)
        totals = np.zeros((n, m))
        came[:start], totals[:start] = self.came[:start], self.totals[:start]
        for k, i in enumerate(range(start, n)):
            if i == 0:
                totals[0], came[0] = cost[0], 4  # start
            else:
                totals[i], came[i] = _cycle_step(totals[i - 1], cost[k])
        self.angles, self.came, self.totals = angles.copy(), came, totals
        return _cycle_path(came, totals[-1])


def repetitions(path: list[tuple[int, int]], moments: int, min_cover: float = 0.9) -> list[list[tuple[int, int]]]:
    """The path cut where it wraps; a piece is a repetition when it passes through at least
    min_cover of the cycle's moments (the lead-in before the first and a half-done last one are not)."""
    pieces, current = [], []
    for i, j in path:
        if current and j < current[-1][1]:
            pieces.append(current)
            current = []
        current.append((i, j))
    if current:
        pieces.append(current)
    return [p for p in pieces if len({j for _, j in p}) >= min_cover * moments]
