"""Pure logic of a class's members (common/coach/spots.py ClassRoll): what is scored of a member
who walks away and comes back. Drawn people (common/coach/synthetic.py), no model."""
from __future__ import annotations

import numpy as np

from common.coach import routine as routines


def _raising(t: float, x: float, period: float = 2.0) -> np.ndarray:
    """A drawn person at x doing arm raises (shoulders 15 -> 165 -> 15 every `period` s)."""
    from common.coach.synthetic import common_pose

    lift = 15 + 150 * (0.5 - 0.5 * np.cos(2 * np.pi * t / period))
    return common_pose({"left_shoulder": lift, "right_shoulder": lift}, center_x=x)


def _walking(t: float, x: float) -> np.ndarray:
    """A drawn person at x in mid-stride, arms swinging 15-45 degrees."""
    from common.coach.synthetic import common_pose

    swing = 30 + 15 * np.sin(2 * np.pi * t)
    return common_pose({"left_shoulder": swing, "right_shoulder": 60 - swing, "left_knee": 150 + 25 * np.sin(2 * np.pi * t)},
                       center_x=x)


def test_a_member_who_walks_away_and_back_is_scored_on_the_exercise_not_on_the_walk():
    """At 10 fps, one follower throughout: arm raises at x 300 for 6 s (a member, spot 1), a walk
    to x 800 and back (250 px/s, 6-10 s: let go as walking), arm raises at 300 again from 10 s.
    Back in place they take spot 1 again, and what is scored is the raises: the readings from
    when they settled back in place on (the second before they take the spot back included),
    none of the walk but its first steps (below)."""
    from common.coach.spots import ClassRoll

    roll = ClassRoll(routines.load("arm_raise"))
    scored, spots = [], set()
    for i in range(200):
        t = i / 10
        if t < 6:
            x, pose = 300.0, _raising(t, 300)
        elif t < 10:
            x = 300 + 250 * (t - 6) if t < 8 else 800 - 250 * (t - 8)
            pose = _walking(t, x)
        else:
            x, pose = 300.0, _raising(t, 300)
        for spot, track, (at, where) in roll.update(t, [(1, pose, (t, x))]):
            spots.add(spot)
            scored.append((at, where))
    # The first steps are scored while the walk is told from exercising (hips moving more than a
    # torso a second, seen over at least 0.3 s): up to 0.5 s of it. None after that, none of the way back.
    walk = [(at, where) for at, where in scored if 6.5 <= at < 10.0]
    back = [at for at, _ in scored if at >= 10]
    print(f"\nspots {sorted(spots)}; readings scored {len(scored)} of 200: first member reading t {scored[0][0]:.1f}, "
          f"back from t {back[0]:.1f}; readings of the walk scored {len(walk)} (truth 0)"
          + (f", at x {walk[0][1]:.0f}-{max(w for _, w in walk):.0f}" if walk else ""))
    assert spots == {1}, "one member, one spot, kept through the walk"
    assert not walk, "the walk away and back is not the exercise"
    assert back and back[0] <= 10.5 and len(back) == 200 - round(back[0] * 10), "every reading since back in place"


def test_one_person_read_by_two_followers_gets_one_spot_and_keeps_it_when_one_follower_is_lost():
    """At 10 fps, arm raises at x 300 read by two followers at once (track 1, and track 2 a few
    pixels off: a second follower that slid onto him, as on a real composed room with MoveNet),
    and a second person raising at x 800 (track 3). One spot each, never a second for the man
    read twice; when his first follower is lost (8 s), the second, where he was, has his spot at
    once, and none of his readings is scored twice (what the second follower read while the first
    followed him was his, scored through the first)."""
    from common.coach.spots import ClassRoll

    roll = ClassRoll(routines.load("arm_raise"))
    spots: dict = {}
    heard: dict = {}  # spot -> the times of the readings scored
    for i in range(160):
        t = i / 10
        man = _raising(t, 300)
        twice = man.copy()
        twice[:, :2] += 4.0  # the second follower's reading: 4 px off
        people = ([(1, man, t)] if t < 8 else []) + [(2, twice, t), (3, _raising(t + 0.5, 800), t)]
        for spot, track, at in roll.update(t, people):
            spots.setdefault(track, set()).add(spot)
            heard.setdefault(spot, []).append(at)
    man_spot = next(iter(spots.get(1, set())), None)
    times = heard.get(man_spot, [])
    gaps = np.diff(times)
    print(f"\nspots by track: {spots} (truth: the man read twice one spot, the other person another); the man's "
          f"readings scored {len(times)}, {len(times) - len(set(times))} twice (truth 0), the longest gap "
          f"{gaps.max() if len(gaps) else 0:.1f} s (truth 0.1)")
    man_spots = spots.get(1, set()) | spots.get(2, set())
    assert len(man_spots) == 1 and len(spots.get(3, set())) == 1 and man_spots != spots[3]
    assert 2 in spots, "the follower left on him takes his spot back"
    assert len(times) == len(set(times)) and (gaps > 0).all() and gaps.max() < 0.15, "each reading once, none missed"
