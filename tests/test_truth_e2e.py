"""[truth] What a senior and a family see, end to end on real clips through the real services (camera,
inference, scoring, renderer, uplink), a real Mosquitto and the real collector (SQLite), then the
carers' report from that store:

- every correction the TV was given (each Score.guidance on the bus) and the summary's
  `corrections` come from that routine's cue table and name a direction;
- every message every service published passes the product's own check (tests/graph.py BusTap);
- the summary reaches the TV and the central store once;
- the report of that first session has no progress words and flags left/right differences only
  for joints the routine scores.

- no green verdict while the person is a phase away from the pose the TV shows: the instructor panel
  shows the moment each fresh verdict judged (Score.routine_t_s - offset_s, services/renderer/screen.py
  instructor_time; tests/test_one_truth.py checks that on the renderer's own drawing); the person's
  angles, from the Pose of the same frame, are compared with that moment's pose: a joint that makes
  the movement beyond its near band is "a phase away", and no such frame may carry a green verdict.

Every bundled routine (common/coach/routines/*.json) runs once, on one short real clip
(../shared/media and dev/; skipped without them): its own movement where a clip of it exists
(dev/truth.tsv's bundled_routine_that_fits, or the clip named for the movement), else the nearest
real clip, named in CLIPS with why. One model per routine, printed per run: tests/graph.py core_model
(movenet-lightning, the Coral's model on CPU and the faster one here, when present; else
blazepose-full), except blazepose-full for the side-view routines run on a frontal clip (squat,
chair_stand_30s, arm_curl_30s), where MoveNet's 2D view would hide every correction behind turn.side.
"""
from __future__ import annotations

import re
import sqlite3

import numpy as np
import pytest

from common.coach import cues
from common.coach.framing import in_view, needed_points
from common.coach.geometry import joint_angles
from common.coach.keypoints import MIRROR_SWAP, mirror, to_common, to_common_world
from common.coach.scoring import MOVING_JOINT_DEG
from common.coach import routine as routines
from common.mosquitto import LocalBroker, mosquitto_binary
from common.texts import load_texts
from tests.conftest import media_file, wait_for
from tests.graph import BusTap, Observer, core_model, graph_config

SERVICES = ("camera", "inference", "scoring", "renderer", "uplink")
# Routine -> (clip, whether the clip does the routine's own movement or the nearest one, and why).
CLIPS = {
    "squat": ("squats_5reps.mp4", "own movement: 5 squats, front"),
    "squat_seated": ("dev/squat_side_studio.mp4", "nearest: squat_seated is a seated knee extension of both legs "
                     "(its title); deep squats bend and straighten the knees (side)"),
    "chair_stand_30s": ("squats_5reps.mp4", "nearest: squats (stand-sit-stand without a chair)"),
    "lateral_raise": ("dev/lateral_raise_waist_up_gym.mp4", "own movement: 4 lateral raises"),
    "arm_raise": ("dev/jumping_jacks_fast_front_gym.mp4", "own movement per dev/truth.tsv (jumping jacks' arms)"),
    "arm_raise_seated": ("dev/jumping_jacks_fast_front_gym.mp4", "nearest: jumping jacks' arm raises, standing"),
    # (Lateral raises until 2597140: since a movement begins from its rest end, their 34 deg of elbow
    # counts as the curl begun, and the raised arms are never green: 0 green / 5 away of 121.)
    "arm_curl_30s": ("squats_5reps.mp4",
                     "nearest: no curl clip; the squatter's elbows bend (90-170 deg) as the arms come forward "
                     "(front); green 15 / away 10 of 54"),
    "marching": ("dev/high_knees_side_gym.mp4", "own movement: high-knee marching, side"),
    # The next five have no clip of their movement (dev/README.md "Not covered"). Each runs on the
    # real clip where the "no green while a phase away" check can fail: offline (MoveNet, the clip
    # from the routine's start) the person matches the routine's pose on some frames (green) and is
    # a phase away on others. Measured green / a phase away of the judged frames; with the clips used
    # before (high knees, deep squats, the side-view stretch) green was 0-38 frames, and the
    # side-view stretch read the forward fold as a side bend: never green.
    "marching_seated": ("dev/squat_arms_up_front_studio.mp4",
                        "nearest: the hips flex and open while the arms stay up (front); green 61 / away 186 of 274"),
    "balance_hold": ("dance_600.mp4", "nearest: a dancer shifting onto one leg; green 25 / away 24 of 102"),
    "knee_extension_seated": ("dev/squat_arms_up_front_studio.mp4",
                              "nearest: knees bend and straighten (front); green 48 / away 152 of 274"),
    # (dance_600 until 2597140: measured since then green 22 / away 0 of 48, so the check could not fail.)
    "side_bend": ("two_people_sports2d.mp4", "nearest: a trunk upright and tilting to either side (front; MoveNet's "
                  "one-person reader follows the walker in front, [class] #44); green 11 / away 15 of 96"),
    "side_bend_seated": ("squats_5reps.mp4", "nearest: an upright trunk through squats (front), its tilt against the "
                         "bends; green 28 / away 18 of 54"),
}
BUNDLED = routines.bundled()
# MoveNet (2D) cannot see a side-view routine's movement from the front, so scoring asks the person
# to turn side-on (turn.side) instead of correcting them: on a frontal clip of a side-view routine
# every correction is hidden. Those run on BlazePose (its world landmarks see the depth).
FRONTAL_CLIPS_OF_SIDE_VIEW_ROUTINES = {"squat", "chair_stand_30s", "arm_curl_30s"}


def model_for(routine_name: str) -> str:
    from models import catalog

    if routine_name in FRONTAL_CLIPS_OF_SIDE_VIEW_ROUTINES:
        try:
            catalog.paths("blazepose-full")
            return "blazepose-full"
        except catalog.ModelError:
            pass
    return core_model()
PROGRESS = ("좋아지고", "올라가고", "내려가고", "getting better", "going up", "going down")


def test_every_bundled_routine_has_a_real_clip():
    assert sorted(CLIPS) == BUNDLED, "a bundled routine without a clip in CLIPS (or one that no longer exists)"


def moving_joints(routine) -> list[str]:
    """The joints that make the movement: their target moves by MOVING_JOINT_DEG or more over the
    routine (a squat's knees and hips, not an arm that swings a little); for a hold, every joint."""
    targets = [routine.target(t) for t in np.arange(0.0, routine.duration_s, 0.05)]
    moving = [j for j in routine.joints
              if max(tg[j] for tg in targets if j in tg) - min(tg[j] for tg in targets if j in tg) >= MOVING_JOINT_DEG]
    return moving or list(routine.joints)


def angles_of(pose, routine) -> dict:
    """The person's angles in this Pose, taken as scoring takes them (common/coach/scoring.py)."""
    common = to_common(pose.layout, np.asarray(pose.keypoints, dtype=float))
    needs = needed_points([*routine.joints, *(routine.reps.joints if routine.reps else ())])
    common, _ = in_view(common, pose.width, pose.height, needs)  # out of the picture: not seen
    world = to_common_world(pose.layout, pose.world) if pose.world else None
    if routine.mirror:
        common = mirror(common, 0.0)
        world = None if world is None else world[list(MIRROR_SWAP)]
    return joint_angles(common, world)


@pytest.mark.skipif(mosquitto_binary() is None, reason="mosquitto is not installed (make test installs it)")
@pytest.mark.parametrize("routine_name", BUNDLED)
def test_a_session_on_a_real_clip_tells_the_senior_and_the_family_what_is_true(tmp_path, processes, routine_name):
    clip_name, why = CLIPS[routine_name]
    tells_the_truth(tmp_path, processes, routine_name, media_file(clip_name), why, model_for(routine_name))


@pytest.mark.skipif(mosquitto_binary() is None, reason="mosquitto is not installed (make test installs it)")
def test_the_demos_built_routine_tells_the_senior_and_the_family_what_is_true(tmp_path, processes):
    """`silvergym demo`'s own routine: built from squats_5reps and cut to one squat (common/cli/demo.py
    routine_from_clip), the participant the demo makes (coached_participant: 0.7x, leaning), the
    product's default model. A fresh-eyes trial saw it green with "잘하고 있어요!" at the bottom of a
    squat beside an instructor nearly upright."""
    from common.cli import demo

    clip = media_file("squats_5reps.mp4")
    whole, one_squat = demo.routine_from_clip(clip, tmp_path / "demo", "blazepose-full")
    participant, what = demo.coached_participant(clip, whole, tmp_path / "demo")
    tells_the_truth(tmp_path, processes, str(one_squat), participant, f"the demo's participant: {what}",
                    "blazepose-full")


def tells_the_truth(tmp_path, processes, routine_name: str, clip, why: str, model: str) -> None:
    """One session of `routine_name` (a bundled name or a routine file) on `clip` through the real
    services, checked as the module's docstring says."""
    from common.central.report import render

    clip_name = getattr(clip, "name", str(clip))
    routine = routines.load(routine_name)
    table = cues.table(routine)
    poses: dict[int, object] = {}
    verdicts: list = []
    broker = LocalBroker(workdir=str(tmp_path / "broker")).start()
    text = graph_config(tmp_path, clip, model=model, routine=routine_name)
    text = text.replace("loop = true", "loop = false\nstart_with_session = true")  # one performance
    text = re.sub(r"port = \d+", f"port = {broker.port}", text)
    text += f'\n[collector]\nport = {broker.port}\ndb = "{tmp_path / "central.db"}"\n'
    procs = processes(text)
    tap = BusTap(procs.config_path)
    obs = Observer(procs.config_path)
    given: dict[str, int] = {}
    ended = []
    try:
        procs.start_command("collector", ["collect"])
        wait_for(lambda: "subscribed" in procs.log_text("collector"), 20, what="the collector subscribed")
        for name in SERVICES:
            procs.start(name)

        def heard():
            for msg in obs.sub.receive(50):
                obs.counts[msg.TOPIC] += 1
                if msg.TOPIC == "pose" and not msg.spot and msg.keypoints:
                    poses[msg.frame_id] = msg
                if msg.TOPIC == "score" and not msg.spot:
                    verdicts.append(msg)
                if msg.TOPIC == "score" and msg.guidance:
                    given[msg.guidance] = given.get(msg.guidance, 0) + 1
                elif msg.TOPIC == "session" and msg.event == "end":
                    ended.append(msg)
                elif msg.TOPIC == "health":
                    obs.health[msg.service] = msg
            return ended
        wait_for(heard, 240, interval_s=0.1, what="the session's end")
        summary = ended[0].summary
        wait_for(lambda: heard() is not None and obs.health.get("renderer") is not None
                 and obs.health["renderer"].state == "summary", 30, what="the summary on the TV")
        central = sqlite3.connect(tmp_path / "central.db")
        try:  # 60 s: the uplink's reconnect back-off (1-30 s) on this busy machine; once 30 s was not enough
            wait_for(lambda: central.execute("SELECT COUNT(*) FROM sessions").fetchone()[0] >= 1, 60,
                     what="the session stored centrally")
        except AssertionError as exc:
            tails = {name: procs.log_text(name)[-1500:] for name in ("uplink", "collector")}
            raise AssertionError(f"{exc}; logs: {tails}") from None
        assert central.execute("SELECT COUNT(*) FROM sessions").fetchone()[0] == 1
        central.close()
    finally:
        tap.close()
        obs.close()
        procs.stop_all()
        broker.stop()
    corrections = {k: n for k, n in given.items() if cues.KEY.match(k)}
    # Green while a phase away from the pose the TV shows (the judged moment, see the docstring).
    movers = moving_joints(routine)
    judged, away, away_green, clock_away_green, green = 0, 0, [], 0, 0
    for sc in verdicts:
        pose = poses.get(sc.frame_id)
        if sc.verdict == "none" or sc.routine_t_s < 0 or pose is None:
            continue
        judged += 1
        green += sc.verdict == "correct"
        shown = max(0.0, sc.routine_t_s - sc.offset_s)
        angles = angles_of(pose, routine)

        def away_from(at: float) -> dict:
            target = routine.target(at)
            return {j: round(angles[j] - target[j]) for j in movers if angles.get(j) is not None and j in target
                    and abs(angles[j] - target[j]) > routine.joints[j].near}
        far = away_from(shown)
        # The same verdicts with the instructor on the routine's own clock (the TV before [truth]).
        clock_away_green += sc.verdict == "correct" and bool(away_from(sc.routine_t_s))
        if far:
            away += 1
            if sc.verdict == "correct":
                away_green.append((sc.frame_id, round(shown, 2), far))
    print(f"\n{routine_name} on {clip_name} ({why}), model {model}: {judged} verdicts with their pose, "
          f"{green} green, {away} a phase away from the pose shown ({movers}), green while a phase away: {len(away_green)} "
          f"{away_green[:3]} (with the panel on the routine's clock it would be {clock_away_green})")
    print(f"{routine_name} on {clip_name}: score {summary['score']:.0f}, {summary['reps']} reps; "
          f"{len(corrections)} distinct cues; the TV was given "
          + ", ".join(f"{k} x{n} '{table[k].ko}'" if k in table else f"{k} x{n} (NOT IN THE TABLE)"
                      for k, n in corrections.items())
          + f"; other hints {sorted(set(given) - set(corrections))}; summary corrections "
          f"{[c['key'] for c in summary.get('corrections', [])]}")
    # The TV's live strip is the score's judgement as it goes (Score.judged_strip) and ends as the summary's
    # (services/scoring.py _publish_final_strip: the lateral raises' last strip sent as they went was
    # 'ccccccc', the summary's 'cccccc-').
    # Scoring starts the session again when a recorded participant's clock went back to the start
    # (services/scoring.py RESTART_BACK_S: a held first picture scored before the video played): the
    # strips from then on are the session's. The running score may revise a second as later poses
    # re-align its repetition (marching: seconds 2-4 'n' at first, 'c' in the summary): printed, not failed.
    final = summary.get("timeline", "")
    back = [k for k in range(1, len(verdicts)) if verdicts[k].routine_t_s < verdicts[k - 1].routine_t_s - 0.3]
    strips = [sc.judged_strip for sc in verdicts[back[-1] if back else 0:] if sc.judged_strip]
    revised = sorted({(k, c, final[k:k + 1]) for strip in strips for k, c in enumerate(strip)
                      if c in "cnw" and final[k:k + 1] != c})
    last = strips[-1] if strips else ""
    print(f"{routine_name}: the live strip sent {len(strips)} times, last {last!r}; summary {final!r}; seconds "
          f"shown on the way in another colour than the summary's (revised by the running score): {revised[:5]}")
    assert all(final[k:k + 1] == c for k, c in enumerate(last) if c in "cnw"), \
        "the live strip's last judgement differs from the summary's"
    assert tap.refused == [], tap.refused[:5]
    coloured = [sc for sc in verdicts if sc.verdict != "none" and sc.routine_t_s >= 0]
    if not coloured and why.startswith("nearest"):
        # A person who never begins the routine's movement (no repetition, no moving joint a third
        # of its range from where it started) is neither coloured nor corrected since [truth]'s
        # gate: nothing green to check, and nothing said but the invitations to follow. (No clip in
        # CLIPS takes this way now; the clips were chosen so that the green check below can fail.)
        print(f"{routine_name}: the person never began {routine_name}'s movement: no verdict coloured, "
              f"no correction ({sorted(corrections)})")
        assert corrections == {}, "a correction for a movement the person never began"
    else:
        assert judged >= 10, "too few verdicts with their pose to check what the TV showed"
        assert away_green == [], "green while a phase away from the pose the TV shows"
        # The clip is chosen so that the check above can fail: some verdicts green, some frames a phase away.
        assert green >= 1 and away >= 1, f"the check cannot fail on this clip: {green} green, {away} a phase away"
    assert {sc.routine for sc in verdicts} == {routine.name}, "the routine scored is the one run (a guest)"
    for key in corrections:
        assert key in table, f"{key} is not in {routine_name}'s cue table"
        assert not cues.directionless(table[key].ko, "ko") and not cues.directionless(table[key].en, "en")
    # The same corrections as the TV was given (as a set: under load the observer can join after the
    # first score messages and hear them in another first-seen order).
    said = [c["key"] for c in summary["corrections"]]
    # Listed once per wording (two keys may share words: the demo's trunk_tilt.more and .less are both
    # '상체를 가운데로 곧게 세우세요'): every wording the TV gave is in the summary.
    assert len(said) == len(set(said)) and set(said) <= set(table)
    # Or, of two opposite corrections for one joint, the other one (cues.one_direction_per_joint).
    for k in (k for k in given if k in table and table[k].ko not in {c["ko"] for c in summary["corrections"]}):
        direction, joints = cues._joints_of(k)
        assert any(cues._joints_of(c["key"])[0] != direction and cues._joints_of(c["key"])[1] & joints
                   for c in summary["corrections"]), f"{k} ({table[k].ko}) given, not in the summary"
    for c in summary["corrections"]:
        assert (c["ko"], c["en"]) == (table[c["key"]].ko, table[c["key"]].en)
    # The family's report of this first session.
    session = {"session_id": ended[0].session_id, "participant": "guest", "routine": routine.name,
               "started_unix": ended[0].started_unix, "ended_unix": ended[0].started_unix + 60, "summary": summary}
    texts = load_texts("ko")
    page = render("김영희", [session], [], "ko")
    for word in PROGRESS:
        assert word not in page, f"progress words after one session: {word}"
    for joint in {j for j in summary.get("range_of_motion", {}) if j not in routine.joints}:
        assert texts.get(f"joint.{joint}", joint) + "의 움직임이 반대쪽보다" not in page, f"{joint} is not scored"
