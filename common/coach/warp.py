"""Where in the routine the participant is: online time warping with bounded tempo.

Seniors move more slowly than instructors and slow down as a session goes on, so the routine
position τ that a participant's pose should be compared with is not the clock t minus a constant.
TempoTracker keeps, for every candidate position s on a 0.01 s grid in a window of ±3 s around
its best guess, the cost of the cheapest path that reaches s now: a path advances by r·dt each
frame with a tempo r between `min_rate` and `max_rate` (0.5x to 1.3x the instructor), and its
cost is an exponential moving average (time constant `memory_s`) of the angle error along it plus
a small charge for tempos far from 1 (which only breaks ties). The position judged, τ, is the
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
slowly is fine.

Per frame: one error per grid position in the window (~600) and one interpolation per tempo step
(8), all vectorised; memory is the window plus a table of the routine's targets on the grid.
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from common.coach.routine import Routine

ERROR_CAP_DEG = 60.0


@dataclass
class TempoTracker:
    routine: Routine
    step_s: float = 0.01  # finer than the least a path advances in a frame at 30 fps (0.5 x 33 ms)
    min_rate: float = 0.5
    max_rate: float = 1.3
    memory_s: float = 2.0
    start_window_s: float = 1.5
    window_s: float = 3.0
    tempo_window_s: float = 1.0  # the judged track keeps min_rate..max_rate over this long
    # Charged per unit of |rate - 1| (degrees of mean error): the natural tempo wins a tie.
    rate_charge_deg: float = 3.0
    position: float | None = None  # τ, routine seconds
    tempo: float = 1.0  # smoothed dτ/dt
    rejoined: int = 0
    _t: float | None = None
    _grid0: float = field(init=False)
    _targets: np.ndarray = field(init=False)
    _joints: list = field(init=False)
    _window: np.ndarray | None = None  # grid indices
    _cost: np.ndarray | None = None
    _rates: np.ndarray = field(init=False)
    _track: deque = field(default_factory=deque)  # (t, position) of the judged positions, last second
    _started: float = 0.0

    def __post_init__(self):
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
        self._rates = np.linspace(self.min_rate, self.max_rate, 8)

    def _index(self, s: float) -> int:
        return int(round((s - self._grid0) / self.step_s))

    def _errors(self, idx: np.ndarray, angles: dict) -> np.ndarray | None:
        have = [k for k, j in enumerate(self._joints) if angles.get(j) is not None]
        if not have:
            return None
        seen = np.array([angles[self._joints[k]] for k in have])
        lo, hi = max(0, int(idx[0])), min(len(self._targets), int(idx[-1]) + 1)  # idx is contiguous
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
            charge = self.rate_charge_deg * np.abs(self._rates - 1.0) * dt / self.memory_s
            best_prev = (came_from + charge[:, None]).min(axis=0)
            err = self._errors(idx, angles)
            alpha = 1.0 - math.exp(-dt / self.memory_s)
            reachable = np.isfinite(best_prev)
            if err is None:  # nobody seen: carry the paths on, judge nothing
                cost = best_prev
            else:
                cost = np.where(reachable, (1 - alpha) * best_prev + alpha * err, np.inf)
                reachable &= np.isfinite(cost)
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
        self._maybe_rejoin(t)
        return self.position

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
        if cycle <= 0 or t - self.position <= cycle or self.position + cycle > self.routine.duration_s:
            return
        shift = int(round(cycle / self.step_s))
        self._window = self._window + shift
        self.position += shift * self.step_s
        self._track = deque((tt, p + shift * self.step_s) for tt, p in self._track)
        self.rejoined += 1
