"""The jumper of a real scene read at a live rate (issue 44): live inference drops pictures (it reads the
newest whenever it is free), so a service reads two_people_sports2d.mp4 (1768x994, 30 fps: a man
further back does 2 jumping jacks then a flip, a woman walks past in front; README's truth: 2 jacks)
12-18 times a second, not 30. Read so, the jumper was counted 3 jacks a play with BlazePose (the
group front at 15 a second; one person's at 15 and 12): turned side on before his flip he swings his
near arm up, the far arm hidden behind him, and with one arm of the two seen that arm alone decided
(common/coach/reps.py `_did_not_lift`: with a limb of a both-sides rule unread all the repetition, the
one seen must lift as far as its angle to the body moved, not half).

Deterministic: the pictures a 15 (12) a second camera gives (the first at or after every 1/15 s, as
tests/test_counting_real.py's at_15fps), each read by the real model on the real interpreter, the
model reading only those (its crop follows its last answer, as live). Played three times in a row as
a looping camera file plays it (each play a new source: the pose front reset), through the code the
services and `silvergym score` run: the group front with `score`'s score_class (common/coach/spots.py's
ClassRoll deciding members), and one person's front (models/estimator.py OnePerson) with the class
of one (common/coach/session.py ClassSession with OnePerson's admission), the arm raise routine.
"""
from __future__ import annotations

import pytest

from tests.conftest import media_file

CLIP = "two_people_sports2d.mp4"
JACKS_PER_PLAY, PLAYS = 2, 3  # the README's truth; played once and looped (the "Done when")
_frames: list = []


def at_rate(times: list[float], per_s: float) -> list[int]:
    """The pictures a camera giving `per_s` a second would have given: the first at or after every 1/per_s s."""
    keep, next_t = [], 0.0
    for i, t in enumerate(times):
        if t + 1e-6 >= next_t:
            keep.append(i)
            next_t += 1 / per_s
    return keep


def clip_frames() -> list:
    from common.media import read_frames

    if not _frames:
        _frames.extend((t, bgr) for _, t, bgr in read_frames(str(media_file(CLIP))))
    return _frames


def looped_at(front, per_s: float):
    """(t, picture) of the clip at `per_s` pictures a second, PLAYS times in a row, the front reset at
    each new play (services/inference.py does so at a looping file's next play, a new source)."""
    frames = clip_frames()
    play_s = len(frames) / 30.0
    picked = at_rate([t for t, _ in frames], per_s)
    for play in range(PLAYS):
        if play:
            front.reset()
        for i in picked:
            yield play * play_s + frames[i][0], frames[i][1]


def per_play(counter, play_s: float) -> list[int]:
    return [sum(1 for c in counter.counters.values() for m in c.middles if k * play_s <= m < (k + 1) * play_s)
            for k in range(PLAYS)]


def _front(kind: str, model: str):
    from models import catalog
    from models.estimator import Estimator, OnePerson
    from models.group import GroupEstimator

    try:
        return GroupEstimator(model) if kind == "group" else OnePerson(Estimator(model))
    except catalog.ModelError as exc:
        pytest.skip(f"{exc} (make test fetches it)")


@pytest.mark.parametrize("per_s", [15, 12])
@pytest.mark.parametrize("model", ["blazepose-full", "movenet-lightning"])
def test_the_jumper_read_at_a_live_rate_is_one_member_with_2_jacks_a_play(model, per_s):
    """Group mode: the jumper one member with 2 jacks in each of the 3 plays, the walker followed and
    never a member. Measured before: BlazePose at 15 a second [3, 3, 3, 3] in four plays
    (a third at 5.0 s of each play: the near arm's swing before the flip, 1.15 of the routine's
    excursion, the far arm unread), at 12 [2, 2, 2, 2] (the same swing 0.99, short of the lift's
    floor by 1 deg); MoveNet [2, 2, 2, 2] at both."""
    from common.cli.score import score_class
    from common.coach import routine as routines

    front = _front("group", model)
    play_s = len(clip_frames()) / 30.0
    room = score_class(looped_at(front, per_s), front, routines.load("arm_raise"))
    counts = {spot: per_play(person.scorer.reps, play_s) for spot, person in room.sessions.items()}
    never = room.roll.never_members()
    print(f"\n{CLIP} group mode, {model}, {per_s} pictures a second, played {PLAYS}x: members {sorted(counts)} "
          f"(truth: one, the jumper), jacks per play {counts} (truth {[JACKS_PER_PLAY] * PLAYS}), followed and never "
          f"members {never} (truth: the walker, at least 1)")
    assert len(counts) == 1, "the jumper one member, one session; the walker never a member"
    assert list(counts.values())[0] == [JACKS_PER_PLAY] * PLAYS
    assert never >= 1, "the walker is followed (and never a member)"


# One person's MoveNet front does not follow the jumper at any rate (every picture too): measured at 15
# and 12 a second, it reads nobody for the first 1.4 s of each play (one stray reading at 0.4-0.5 s, on
# neither person), then the walker (nearer, larger) as she comes in; the jumper (further back and
# smaller than she is, backlit) is never the one person it finds. That is
# who one person's front follows, not the counting (issue 44: one estimator front for one and many).
# One person's admission (a class of one: group mode's member selection with one member) chooses the
# jumper among everyone a front gives (test_a_class_of_one_given_everyone_followed_..., below); one
# person's front (models/estimator.py OnePerson) gives one, the one its model finds: the walker. What
# remains is the front: one-person mode reading with the group front, one member.
ONE_PERSON_NOT_THE_JUMPER = pytest.mark.xfail(strict=True, reason="one person's MoveNet front follows the walker")


@pytest.mark.parametrize("per_s", [15, 12])
@pytest.mark.parametrize("model", ["blazepose-full", pytest.param("movenet-lightning", marks=ONE_PERSON_NOT_THE_JUMPER)])
def test_one_person_read_at_a_live_rate_counts_the_jumpers_2_jacks_a_play(model, per_s):
    """One-person mode (a class of one, OnePerson's admission: whoever one person's front follows):
    2 jacks in each play. Measured before: BlazePose [3, 3, 3] at 15 and at 12 a second
    (the near arm's swing at 5.0 s of each play counted)."""
    from common.cli.score import people_in
    from common.coach import routine as routines
    from common.coach.session import ClassSession, OnePerson, PersonSession

    front = _front("one", model)
    play_s = len(clip_frames()) / 30.0
    person = PersonSession(routines.load("arm_raise"))
    room = ClassSession(None, session_for=lambda spot: person, admission=OnePerson(taken=True))
    for t, bgr in looped_at(front, per_s):
        room.update(t, people_in(front, bgr, t), (bgr.shape[1], bgr.shape[0]))
    counts = per_play(person.scorer.reps, play_s)
    print(f"\n{CLIP} one-person mode, {model}, {per_s} pictures a second, played {PLAYS}x: jacks per play "
          f"{counts} (truth {[JACKS_PER_PLAY] * PLAYS}), {person.scorer.reps.count} in all")
    assert counts == [JACKS_PER_PLAY] * PLAYS


@pytest.mark.parametrize("left_arm, lifted, truth", [("seen", 165, 4), ("hidden", 165, 4), ("seen", 110, 4), ("hidden", 110, 0)])
def test_one_arm_seen_of_two_must_lift_as_far_as_its_angle_says(left_arm, lifted, truth):
    """Drawn (pure logic): four raises, the shoulders' angle to the body 15 -> 165 deg at 15 a second,
    the right upper arm lifted to `lifted` deg off straight down meanwhile (165: with the angle, the
    trunk upright; 110: a trunk leaning back under a swinging arm opens the angle further than the arm
    rises), the left arm raised as the right or hidden on every picture (not read: side on, behind
    the body). Both arms seen, the lift must be half the angle's degrees, up to the routine's target
    (115: 110 counts, as before); the right arm alone, all of them (110: not counted; 165, one arm's
    jacks side on: counted)."""
    import numpy as np

    from common.coach import routine as routines
    from common.coach.keypoints import COMMON, COMMON_INDEX
    from common.coach.reps import RepCounter

    def pose(down: float, left_seen: bool) -> np.ndarray:
        """The upper arms only: each shoulder, its elbow `down` deg off straight down (y grows down)."""
        out = np.zeros((len(COMMON), 3))
        for side, x in (("right", 100.0), ("left", 200.0)):
            score = 0.9 if side == "right" or left_seen else 0.0
            out[COMMON_INDEX[f"{side}_shoulder"]] = (x, 100.0, score)
            out[COMMON_INDEX[f"{side}_elbow"]] = (x + 60 * np.sin(np.radians(down)) * (1 if side == "left" else -1),
                                                  100.0 + 60 * np.cos(np.radians(down)), score)
        return out

    r = routines.load("arm_raise")
    counter, t = RepCounter(r.reps, r.rep_reference()), 0.0
    for raise_ in range(5):  # 2 s each, the first at the start (arms down)
        for k in range(30):
            share = 0.0 if raise_ == 0 else (1 - np.cos(2 * np.pi * k / 30)) / 2
            angle, down = 15 + 150 * share, 15 + (lifted - 15) * share
            seen = left_arm == "seen"
            counter.update(t, {"right_shoulder": angle, "left_shoulder": angle if seen else None},
                           pose=pose(down, seen))
            t += 1 / 15
    both = counter.counters["both"]
    print(f"\nthe angle to the body 15 -> 165, the right arm lifted to {lifted} off straight down, the left arm "
          f"{left_arm}: counted {counter.count} (truth {truth}); rejected for the lift {both.another_lift}")
    assert counter.count == truth


@pytest.mark.parametrize("per_s", [15, 12])
@pytest.mark.parametrize("model", ["blazepose-full", "movenet-lightning"])
def test_a_class_of_one_given_everyone_followed_hears_the_jumper_2_jacks_a_play(model, per_s):
    """One-person mode's admission (common/coach/session.py OnePerson: group mode's member selection,
    a ClassBook with one spot) given everyone the group front follows (GroupEstimator, one member):
    the jumper is the one, 2 jacks in each play; with someone else in view only the one group mode
    makes a member (the jumper) is heard; the walker only when alone in view, after his flip (one
    person's mode hears whoever is alone: their falls are watched). Measured before: OnePerson took
    the first person given (one person's own front gives one: the walker, the xfail above). As first
    written, MoveNet at 15 a second [3, 3, 3] (the jumper kept while his new tryout had not yet seen
    him walk, after the book let him go on his run-up to the flip), then at 12 [2, 2, 3] (his arms up
    as his follower was lost, then the walker's down, heard at once: a jack; a change of body is now
    a cut for the session's counter)."""
    from common.cli.score import people_in
    from common.coach import routine as routines
    from common.coach.session import ClassSession, OnePerson, PersonSession
    from models import catalog
    from models.group import GroupEstimator

    try:
        front = GroupEstimator(model, max_people=1)
    except catalog.ModelError as exc:
        pytest.skip(f"{exc} (make test fetches it)")
    play_s = len(clip_frames()) / 30.0
    arm_raise = routines.load("arm_raise")
    person, one = PersonSession(arm_raise), OnePerson(taken=True, routine=arm_raise)
    room = ClassSession(None, session_for=lambda spot: person, admission=one)
    # Group mode's member selection on the same readings (the previous test: the jumper its one
    # member, 2 a play, the walker never one): whom a class of one may hear while someone else is in view.
    group = ClassSession(arm_raise, 1)
    beside_others = set()  # tracks heard on a picture with someone else followed
    for t, bgr in looped_at(front, per_s):
        people = people_in(front, bgr, t)
        group.update(t, people)
        for _, track, *_ in room.update(t, people, (bgr.shape[1], bgr.shape[0])):
            if len(people) > 1:
                beside_others.add(track)
    counts = per_play(person.scorer.reps, play_s)
    members = group.roll.admitted
    print(f"\n{CLIP} one-person mode's admission given everyone followed (group front, one member), {model}, "
          f"{per_s} pictures a second, played {PLAYS}x: jacks per play {counts} (truth {[JACKS_PER_PLAY] * PLAYS}); "
          f"tracks heard with someone else in view {sorted(beside_others)}, group mode's members {sorted(members)}; "
          f"tracks followed {len(one.seen)}, never the one {one.never_members()}")
    assert counts == [JACKS_PER_PLAY] * PLAYS
    assert beside_others <= members, "with someone else in view, only the one group mode makes a member is heard"
