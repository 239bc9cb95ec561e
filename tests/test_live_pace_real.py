"""The TV's colours follow a person at their own pace, like the session score (issue [score]/[truth]):
real people doing a bundled routine's movement with good form, at 1-9x the routine's pace
(truth.tsv's fitting routines), both models, the poses computed once per clip and model. Per clip,
the share of scored frames whose verdict (the skeleton's colour and the verdict strip) is green,
near or wrong is printed beside the session score.

Before the live tracker followed faster than 1.3x (the commit before this file), good form was red
on 54-80 % of its frames while scoring 74-98; before and after: docs/scoring.md. The bounds:
- good form, every clip: at least 25 % of frames not red (measured 31-90 %, the lowest the
  high-knee clip at 9x, which the tracker does not lock on to, and MoveNet's fast jacks whose hands
  leave the picture); before: 20-52 %.
- good form, the median clip per model: at least 55 % not red (measured 66 % BlazePose, 65 %
  MoveNet; before 35 % and 34 %): a tracker that stops following fast movers breaks it.
- another movement: the dancer against the squat green on at most 40 % of frames (measured
  24 % / 31 %; before 17 % / 29 %; without the charge for racing through the routine 48 % with
  MoveNet), and squats or dancing against the arm raise at most 15 % (measured 0-7 %).
- half the movement (arms to shoulder height against the overhead raise; drawn half squats and
  raises at 1x): green on at most 10 % of the real clip's frames (measured 0 % / 2 %; before the
  turning-position rule was applied live 20 % / 8 %), under half of the drawn ones (9 % / 10 %;
  before 95 % / 90 %). With the rule the dancer against the squat is green on 14 % / 0 % (was 21 / 31).
"""
from __future__ import annotations

import statistics

import pytest

from common.coach import routine as routines
from common.coach.session import PersonSession, play_recording
from tests.conftest import clip_poses

MODELS = ["blazepose-full", "movenet-lightning"]
GOOD = [  # clip (under ../shared/media), the routine that fits (truth.tsv), pace against it
    ("dev/jumping_jacks_fast_front_gym.mp4", "arm_raise", "0.87 s a jack against 6 s: ~7x"),
    ("dev/jumping_jacks_3views_studio.mp4", "arm_raise", "~1 s a jack: ~6x"),
    ("dev/squat_goblet_oblique_gym.mp4", "squat", "stands 5 s, then 6 squats"),
    ("dev/squat_arms_up_front_studio.mp4", "squat", "3 squats, 1 s pause at the bottom"),
    ("dev/squat_side_studio.mp4", "squat", "8 deep squats"),
    ("dev/squat_dumbbell_front_home.mp4", "squat", "5 squats"),
    ("dev/lateral_raise_waist_up_gym.mp4", "lateral_raise", "4 raises"),
    ("dev/high_knees_side_gym.mp4", "marching", "18 knee lifts in 6 s (~9x), then walks away"),
    ("squats_5reps.mp4", "squat", "1.1 s a squat against 5 s: ~4.5x"),
]
OTHER = [  # clip, routine, most green share allowed
    ("dancer.mp4", "squat", 0.40),
    ("dancer.mp4", "arm_raise", 0.15),
    ("squats_5reps.mp4", "arm_raise", 0.15),
    # Half the movement: arms to shoulder height against the overhead raise (session score 0: the
    # turning position is never reached). Green on 20 % / 8 % of frames before the turning rule was
    # applied live (RangeWatch), 0 % / 2 % after.
    ("dev/lateral_raise_waist_up_gym.mp4", "arm_raise", 0.10),
]
NOT_RED_EACH = 0.25
NOT_RED_MEDIAN = 0.55
NOT_RED: dict[str, list[float]] = {m: [] for m in MODELS}


@pytest.fixture(scope="module")
def poses():
    return clip_poses()


def play(poses, clip: str, routine: str, model: str) -> tuple[dict, dict]:
    """The clip as `silvergym score` plays it: the share of scored frames per verdict, and the summary."""
    p, w, fps, size = poses(clip, model)
    person = PersonSession(routines.load(routine))
    counts = {"correct": 0, "near": 0, "wrong": 0}

    def tally(i, t, k, frame):
        if frame.verdict in counts:
            counts[frame.verdict] += 1

    play_recording(person, p, w, fps, size, tally)
    scored = max(1, sum(counts.values()))
    return {k: v / scored for k, v in counts.items()}, person.summary("video ended")


def cell(shares: dict, summary: dict) -> str:
    return (f"green {100 * shares['correct']:.0f}% near {100 * shares['near']:.0f}% "
            f"wrong {100 * shares['wrong']:.0f}%, score {summary['score']:.1f}")


@pytest.mark.parametrize("clip, routine, what", GOOD)
def test_good_form_at_its_own_pace_is_mostly_not_red(poses, clip, routine, what):
    got = {m: play(poses, clip, routine, m) for m in MODELS}
    print(f"\n{clip} against {routine} ({what}): " + "; ".join(f"{m} {cell(*got[m])}" for m in MODELS))
    for m in MODELS:
        shares, summary = got[m]
        NOT_RED[m].append(1 - shares["wrong"])
        assert summary["score"] >= 70, f"{m}: the session score itself ({summary['score']})"
        assert 1 - shares["wrong"] >= NOT_RED_EACH, f"{m}: red on {100 * shares['wrong']:.0f}% of frames"


def test_good_form_is_not_red_on_most_frames_of_the_median_clip():
    if any(len(v) < len(GOOD) for v in NOT_RED.values()):
        pytest.skip("needs every good-form clip played first (run the whole file)")
    for m in MODELS:
        median = statistics.median(NOT_RED[m])
        print(f"\n{m}: not red on {', '.join(f'{100 * v:.0f}%' for v in NOT_RED[m])}; median {100 * median:.0f}%")
        assert median >= NOT_RED_MEDIAN, m


@pytest.mark.parametrize("clip, routine, most_green", OTHER)
def test_another_movement_does_not_turn_green(poses, clip, routine, most_green):
    got = {m: play(poses, clip, routine, m) for m in MODELS}
    print(f"\n{clip} against {routine} (another movement, green at most {100 * most_green:.0f}%): "
          + "; ".join(f"{m} {cell(*got[m])}" for m in MODELS))
    for m in MODELS:
        shares, summary = got[m]
        assert shares["correct"] <= most_green, m
        assert summary["score"] < 30, m


def test_half_the_movement_drawn_at_the_routines_pace_is_not_mostly_green():
    """Drawn poses (common/coach/synthetic.py), no clip: a squat and an arm raise at half their
    depth, at 1x, 15 fps. The session's turning-position rule applied live (scoring.RangeWatch):
    once a repetition turns back short of the turning position its joints are not green and the
    cue says go further. Measured: green on 9 % / 10 % of frames (only the first descent), the cue
    the movement's "further" word; before: 95 % / 90 % (tracker up to 10x), 45 % / 26 % (up to 2x)."""
    import numpy as np

    from common.coach.scoring import SessionScorer
    from common.coach.synthetic import pose3d

    further = {"squat": {"knee.less", "hip.less"}, "arm_raise": {"shoulder.more"}}  # toward the extreme
    for name in ("squat", "arm_raise"):
        r = routines.load(name)
        scorer, rng, rest, green, scored = SessionScorer(r), np.random.default_rng(1), r.target(0.0), 0, 0
        said: dict[str, int] = {}
        for i in range(int(r.duration_s * 15)):
            t = i / 15
            xyz = pose3d({j: rest[j] + 0.5 * (v - rest[j]) for j, v in r.target(t % r.cycle_s).items()})
            xyz[:, :2] += rng.normal(0.0, 2.0, (len(xyz), 2))
            frame = scorer.update(t, np.column_stack([xyz[:, :2], np.full(len(xyz), 0.9)]), xyz)
            scored += frame.verdict != "none"
            green += frame.verdict == "correct"
            if frame.guidance and t > r.cycle_s:  # after the first repetition turned back
                said[frame.guidance] = said.get(frame.guidance, 0) + 1
        print(f"\nhalf the {name} at 1x (drawn): green on {100 * green / scored:.0f}% of frames, "
              f"session score {scorer.summary()['score']}; cues after the first repetition {said}")
        assert green / scored < 0.5, name
        assert said and max(said, key=said.get) in further[name], f"{name}: the cue is not 'go further'"
