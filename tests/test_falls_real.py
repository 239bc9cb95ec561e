"""Falls on real clips (../shared/media/falls: 7 falls, 7 near misses, each with the time the hips
reach the floor), with both models: every fall is asked about or called within 2 s of reaching the
floor, then called when nobody answers; no near miss raises anything; the exercise clips raise
nothing. A wave on real frames (jumping jacks) answers the question; arms raised only to the
shoulders (lateral raises) do not. And the same on the scoring service (real sockets, real spool).

The detector runs on the capture times of the frames (the GMDCSA24 phone clips have uneven frame
timing). After a clip ends the person is taken to lie still as in its last frame, so that the
countdown can run out (the clips are 3-5 s after the fall; the question waits 30 s): that part is
held, not filmed, and the test says so in its output.
"""
from __future__ import annotations

import csv
import time

import numpy as np
import pytest

from common.coach.checkin import FallCheck, WaveDetector
from common.coach.fall import FallDetector
from tests.conftest import MEDIA, media_file

MODELS = ["blazepose-full", "movenet-lightning"]
WITHIN_S = 2.0  # asked or called within this of the hips reaching the floor
COUNTDOWN_S = 30.0  # the config's default (scoring.fall_countdown_s)

_poses: dict = {}


def clip_poses(name: str, model: str):
    """(capture times, common poses or None when nobody is seen, frame height) of a clip, once per
    module run."""
    if (name, model) not in _poses:
        from common.cli.pose import open_estimator
        from common.coach.keypoints import to_common
        from common.media import read_frames

        path = media_file(name)
        est = open_estimator(model, cache="")
        times, poses, height = [], [], 0
        for _, t, bgr in read_frames(str(path)):
            r = est.estimate(bgr, t)
            times.append(float(t))
            poses.append(to_common(est.layout, r.keypoints) if len(r.keypoints) else None)
            height = bgr.shape[0]
        _poses[name, model] = (times, poses, float(height))
    return _poses[name, model]


def truth() -> list[dict]:
    path = MEDIA / "falls" / "truth.tsv"
    if not path.exists():
        pytest.skip(f"{path} is absent (../shared/media/falls holds the fall clips; not part of the repo)")
    with open(path, encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def watch(times, poses, height, hold_after_s: float = 0.0, countdown_s: float = COUNTDOWN_S):
    """The device's fall watch over a clip: detector, question, wave, clock. Returns the actions
    taken as (time, action, reason); after the clip, the last pose is held for hold_after_s."""
    det, check, wave = FallDetector(), FallCheck(countdown_s), WaveDetector()
    actions = []

    def act(a):
        if a is not None:
            actions.append((round(a.t, 2), a.action, a.reason))
            if a.action == "ask":
                wave.reset()

    def step(t, pose):
        event = det.update(t, pose, height)
        if event:
            act(check.on_fall(t, event.kind, event.hard, event.why))
        if check.state == "asking" and wave.update(t, pose, det.unit):
            act(check.answer(t, "wave"))
        act(check.tick(t, det.on_floor))

    for t, pose in zip(times, poses):
        step(t, pose)
    if hold_after_s:
        dt = (times[-1] - times[0]) / max(1, len(times) - 1)
        t = times[-1]
        while t < times[-1] + hold_after_s:
            t += dt
            step(t, poses[-1])
    return actions


@pytest.mark.parametrize("model", MODELS)
def test_every_fall_is_asked_about_or_called_within_2_s_and_no_near_miss_raises_anything(model):
    rows = truth()
    lines, wrong = [], []
    for row in rows:
        times, poses, height = clip_poses(f"falls/{row['file']}", model)
        actions = watch(times, poses, height, hold_after_s=COUNTDOWN_S + 2.0 if row["kind"] == "fall" else 0.0)
        first = actions[0] if actions else None
        calls = [a for a in actions if a[1] == "call"]
        if row["kind"] == "fall":
            t_floor = float(row["t_floor_s"])
            got = (f"{first[1]} at {first[0]:.2f} s ({first[0] - t_floor:+.2f})" if first else "nothing") + \
                  (f", called at {calls[0][0]:.2f} s ({calls[0][2]})" if calls else ", never called")
            if not first or not t_floor - 1.0 <= first[0] <= t_floor + WITHIN_S or not calls:
                wrong.append(row["file"])
            lines.append(f"  {row['file']:34s} fall       t_floor {t_floor:5.2f} s   {got}")
        else:
            lines.append(f"  {row['file']:34s} near miss                   "
                         f"{'nothing' if not actions else ', '.join(f'{a[1]} at {a[0]:.2f} s' for a in actions)}")
            if actions:
                wrong.append(row["file"])
    print(f"\n{model} (after each fall clip the last pose is held {COUNTDOWN_S + 2:.0f} s: lying still, "
          f"nobody answering):\n" + "\n".join(lines))
    assert not wrong, f"{model}: wrong on {wrong}"


EXERCISE = ["squats_5reps.mp4", "squat_man.mp4", "dancer.mp4", "dance_600.mp4", "stretch_side_view.mp4",
            "dev/high_knees_side_gym.mp4", "dev/jumping_jacks_3views_studio.mp4",
            "dev/jumping_jacks_fast_front_gym.mp4", "dev/lateral_raise_waist_up_gym.mp4",
            "dev/squat_arms_up_front_studio.mp4", "dev/squat_dumbbell_front_home.mp4",
            "dev/squat_goblet_oblique_gym.mp4", "dev/squat_side_studio.mp4",
            # One person's reader on two people: the man's jacks and flip, then the woman walking
            # past in front of him (read from 5.7 s); its first reading of the man is far too big.
            "two_people_sports2d.mp4"]


@pytest.mark.parametrize("model", MODELS)
def test_exercise_clips_raise_no_question_and_no_call(model):
    raised = {}
    for name in EXERCISE:
        times, poses, height = clip_poses(name, model)
        actions = watch(times, poses, height)
        raised[name] = actions
        print(f"  {model} {name:40s} {len(times):4d} frames: {actions or 'nothing'}")
    assert not any(raised.values()), f"false alarms: { {k: v for k, v in raised.items() if v} }"


@pytest.mark.parametrize("model", MODELS)
def test_a_wave_on_real_frames_answers_the_question_and_arms_to_the_shoulders_do_not(model):
    """A question is open when each clip starts (as after a suspected fall); the person in
    jumping_jacks_3views raises and moves their arms above the head: answered by a wave, within
    the first jack or two. In lateral_raise the arms go only to shoulder height: no answer."""
    answered = {}
    for name in ("dev/jumping_jacks_3views_studio.mp4", "dev/lateral_raise_waist_up_gym.mp4"):
        times, poses, height = clip_poses(name, model)
        det, check, wave = FallDetector(), FallCheck(COUNTDOWN_S), WaveDetector()
        check.on_fall(times[0], "fall", False, "a question opened for this test")
        answered[name] = None
        for t, pose in zip(times, poses):
            det.update(t, pose, height)
            if wave.update(t, pose, det.unit):
                a = check.answer(t, "wave")
                if a:
                    answered[name] = a.t - times[0]
        print(f"  {model} {name}: {'answered by a wave %.2f s after the question' % answered[name] if answered[name] is not None else 'no answer'}"
              f" ({times[-1] - times[0]:.1f} s of clip)")
    assert answered["dev/jumping_jacks_3views_studio.mp4"] is not None and \
        answered["dev/jumping_jacks_3views_studio.mp4"] <= 3.0
    assert answered["dev/lateral_raise_waist_up_gym.mp4"] is None


# -- the scoring service: the question on the bus, the answer or the call in the session and spool --

def _service(tmp_path, countdown_s: float, mode: str = "one", autostart: bool = True, start_delay_s: float = 0,
             program: str = ""):
    import logging
    import threading

    import zmq

    from common import config as configuration
    from common.bus.service import ServiceContext
    from common.bus.sockets import Publisher, Subscriber
    from common.spool import Spool

    cfg = configuration.load(None, {"bus": {"runtime_dir": str(tmp_path / "run")},
                                    "scoring": {"routine": "squat", "autostart": autostart, "start_delay_s": start_delay_s,
                                                "fall_countdown_s": countdown_s, "mode": mode, "program": program}})
    (tmp_path / "run").mkdir()
    context = zmq.Context()
    ctx = ServiceContext("scoring", cfg, context, threading.Event(), logging.getLogger("scoring"))
    pub = Publisher(context, ctx.endpoint())
    sub = Subscriber(context, ctx.endpoints(), ["alert", "session"])
    return context, ctx, pub, sub, Spool(tmp_path / "spool.db")


def _pose_message(common, i, t_ns, height):
    from common.bus import messages

    kps = common[:17].tolist() if common is not None else []
    return messages.Pose(seq=i, t_capture_ns=t_ns, frame_id=i, width=640, height=int(height), model="m",
                         backend="cpu", layout="coco17", keypoints=kps)


def _drain(sub, into: list, until, what: str):
    from tests.conftest import wait_for

    def seen():
        into.extend(sub.receive(timeout_ms=50))
        return until(into)
    return wait_for(seen, timeout_s=10, what=what)


@pytest.mark.parametrize("answer", ["wave", "nobody"])
def test_the_scoring_service_asks_then_a_wave_answers_or_the_countdown_calls(tmp_path, answer):
    """knees_buckle_backward_front (MoveNet, real frames) through the scoring service: the TV is
    asked (an Alert with stage "asking" and the countdown); then either the jumping-jack person's
    real frames answer it (stage "answered", answer "wave", nobody called, the session records the
    question and the answer) or, the last pose held and nobody answering, the countdown (5 s here)
    calls the carer: the alert in the spool says "no_answer" and when the question was put."""
    from services.scoring import Sessions

    times, poses, height = clip_poses("falls/knees_buckle_backward_front.mp4", "movenet-lightning")
    context, ctx, pub, sub, spool = _service(tmp_path, countdown_s=5.0)
    got: list = []
    try:
        s = Sessions(ctx, pub, spool)
        t0 = 10**12
        _drain(sub, got, lambda g: True, "the subscriber to connect")  # nothing yet; lets SUB join
        for i, (t, pose) in enumerate(zip(times, poses)):
            s.on_pose(_pose_message(pose, i, t0 + int(t * 1e9), height))
        asking = _drain(sub, got, lambda g: [m for m in g if m.TOPIC == "alert" and m.stage == "asking"],
                        "the question on the bus")
        print(f"\nasked: {asking[0].detail!r}, {asking[0].countdown_s} s to answer")
        assert asking[0].countdown_s > 0 and s.check.state == "asking"
        end = times[-1]
        if answer == "wave":
            jt, jp, jh = clip_poses("dev/jumping_jacks_3views_studio.mp4", "movenet-lightning")
            for k, (t, pose) in enumerate(zip(jt, jp)):
                if s.check.state != "asking":
                    break
                s.on_pose(_pose_message(pose, 10_000 + k, t0 + int((end + 0.1 + t) * 1e9), jh))
            answered = _drain(sub, got, lambda g: [m for m in g if m.TOPIC == "alert" and m.stage == "answered"],
                              "the answer on the bus")
            print(f"answered: {answered[0].answer}")
            assert answered[0].answer == "wave" and answered[0].alert_id == asking[0].alert_id
            checks = [a for a in s.alerts if a["kind"] == "fall_check"]
            assert checks and checks[0]["answer"] == "wave" and checks[0]["asked_unix"] <= checks[0]["answered_unix"]
            s.flush_outbox()
            assert not [r for r in spool.peek() if r.kind == "alert"], "a wave answered: nobody is called"
        else:
            t = end
            while s.check.state == "asking" and t < end + 10:
                t += 1 / 15
                s.on_pose(_pose_message(poses[-1], 20_000 + int(t * 15), t0 + int(t * 1e9), height))
                s.tick(t0 + int(t * 1e9))
            s.flush_outbox()
            alerts = [r.payload for r in spool.peek() if r.kind == "alert"]
            print(f"called: {alerts}")
            assert len(alerts) == 1 and alerts[0]["answer"] == "no_answer" and alerts[0]["kind"] == "fall"
            assert alerts[0]["asked_unix"] <= alerts[0]["unix"] and alerts[0]["alert_id"] == asking[0].alert_id
            assert alerts[0]["on_floor"] is True
            from common.central.notify import message
            title, body = message(alerts[0], "center", "tv1")
            print(title)
            assert "넘어진 뒤 응답 없음" in title and "no answer after the fall" in body
    finally:
        spool.close()
        pub.close()
        context.destroy(linger=0)


def test_a_recorded_participants_question_counts_down_its_whole_window_with_capture_times_behind_the_clock(tmp_path):
    """A recorded participant waits for the model, so under load its capture times fall behind the
    service's clock (the trial of issue 46: 34 s behind). knees_buckle_backward_front (MoveNet, real
    frames) with every pose stamped LAG_S before the clock the service ticks on: the question is
    put, the TV told the whole countdown, and the carer is called only when the countdown has run
    out on the question's own clock (before the fix the tick measured the capture-stamped question
    on the wall clock and called 0.0 s after asking, with no countdown shown). After the clip its
    last pose is held (lying still, not filmed), its capture times still LAG_S behind."""
    from services.scoring import Sessions

    lag_s, countdown_s = 34.0, COUNTDOWN_S
    times, poses, height = clip_poses("falls/knees_buckle_backward_front.mp4", "movenet-lightning")
    context, ctx, pub, sub, spool = _service(tmp_path, countdown_s=countdown_s)
    got: list = []
    try:
        s = Sessions(ctx, pub, spool)
        t0 = 10**12
        _drain(sub, got, lambda g: True, "the subscriber to connect")
        asked_t = called_t = None
        left_at_ask = None

        def step(i, t, pose):
            nonlocal asked_t, called_t, left_at_ask
            s.on_pose(_pose_message(pose, i, t0 + int(t * 1e9), height))
            s.tick(t0 + int((t + lag_s) * 1e9))  # the service's clock: lag_s ahead of the pictures
            if asked_t is None and s.check.state == "asking":
                asked_t, left_at_ask = t, s.check.remaining(t0 / 1e9 + t)
            if asked_t is not None and called_t is None and s.check.state != "asking":
                called_t = t

        for i, (t, pose) in enumerate(zip(times, poses)):
            step(i, t, pose)
        t = times[-1]
        while called_t is None and t < times[-1] + countdown_s + 5:
            t += 1 / 15
            step(20_000 + int(t * 15), t, poses[-1])
        s.flush_outbox()
        alerts = [r.payload for r in spool.peek() if r.kind == "alert"]
        assert asked_t is not None, f"the question was never open on a tick: called at once ({alerts})"
        asking = _drain(sub, got, lambda g: [m for m in g if m.TOPIC == "alert" and m.stage == "asking"],
                        "the question on the bus")
        print(f"\ncapture times {lag_s:.0f} s behind the clock: asked at {asked_t:.2f} s of the clip (truth: on the "
              f"floor at {_floor_truth('knees_buckle_backward_front.mp4')} s), TV told {asking[0].countdown_s} s, "
              f"called {called_t - asked_t:.2f} s after asking (window {countdown_s:.0f} s): {alerts}")
        assert asking[0].countdown_s == pytest.approx(countdown_s, abs=0.2)
        assert left_at_ask == pytest.approx(countdown_s, abs=0.2)
        assert called_t is not None and countdown_s - 0.1 <= called_t - asked_t <= countdown_s + 0.2
        assert len(alerts) == 1 and alerts[0]["answer"] == "no_answer" and alerts[0]["alert_id"] == asking[0].alert_id
    finally:
        spool.close()
        pub.close()
        context.destroy(linger=0)


def _floor_truth(name: str) -> float:
    return float(next(r["t_floor_s"] for r in truth() if r["file"] == name))


@pytest.mark.parametrize("when", ["autostart off", "cooldown after a session"])
def test_with_no_session_running_a_real_fall_is_asked_about_then_called_once(tmp_path, when):
    """Falls are watched whenever someone is in view, not only in a session: knees_buckle_backward_front
    (MoveNet, real frames) through the scoring service (real ZeroMQ, real spool) while no session
    runs, either because none starts by itself (autostart off: a senior walking up to the TV) or in
    the cooldown after a session's summary. The TV is asked (session_id empty), no session starts
    over the question, and with the last pose held and nobody answering the countdown calls the
    carer: one alert, spooled once, its id the question's, no session id."""
    from services.scoring import Sessions

    name = "knees_buckle_backward_front.mp4"
    times, poses, height = clip_poses(f"falls/{name}", "movenet-lightning")
    context, ctx, pub, sub, spool = _service(tmp_path, countdown_s=5.0, autostart=(when != "autostart off"))
    got: list = []
    try:
        s = Sessions(ctx, pub, spool)
        _drain(sub, got, lambda g: True, "the subscriber to connect")
        if when != "autostart off":  # a session started from the remote and stopped: its summary's cooldown
            s.on_control(messages_control("start"), time.monotonic_ns())
            s.on_control(messages_control("stop"), time.monotonic_ns())
            _drain(sub, got, lambda g: [m for m in g if m.TOPIC == "session" and m.event == "end"], "the session's end")
            assert time.monotonic() < s.idle_until, "in the cooldown"
            got.clear()
        t0 = time.monotonic_ns()
        for i, (t, pose) in enumerate(zip(times, poses)):
            s.on_pose(_pose_message(pose, i, t0 + int(t * 1e9), height))
            assert not s.session_id, "no session starts while the question is open or in the cooldown"
        asking = _drain(sub, got, lambda g: [m for m in g if m.TOPIC == "alert" and m.stage == "asking"],
                        "the question on the bus")
        asked_at = (asking[0].t_capture_ns - t0) / 1e9
        print(f"\n{when}: asked at {asked_at:.2f} s of the clip (truth: on the floor at {_floor_truth(name)} s), "
              f"session_id {asking[0].session_id!r}: {asking[0].detail!r}")
        assert asking[0].session_id == "" and s.check.state == "asking"
        assert asked_at <= _floor_truth(name) + WITHIN_S
        end, t = times[-1], times[-1]
        while t < end + 10:  # the last pose held 10 s: lying still, nobody answering (not filmed)
            t += 1 / 15
            s.on_pose(_pose_message(poses[-1], 20_000 + int(t * 15), t0 + int(t * 1e9), height))
            s.tick(t0 + int(t * 1e9))
            assert not s.session_id
        s.flush_outbox()
        alerts = [r.payload for r in spool.peek() if r.kind == "alert"]
        _drain(sub, got, lambda g: [m for m in g if m.TOPIC == "alert" and m.stage == "called"], "the call on the bus")
        called = [m for m in got if m.TOPIC == "alert" and m.stage == "called"]
        print(f"called {len(called)} time(s) on the bus; spooled: {alerts}")
        assert len(alerts) == 1 and len(called) == 1
        assert alerts[0]["answer"] == "no_answer" and alerts[0]["session_id"] == "" and called[0].session_id == ""
        assert alerts[0]["alert_id"] == asking[0].alert_id == called[0].alert_id
        assert not [m for m in got if m.TOPIC == "session"], "no session started over the fall"
        assert time.monotonic() < s.idle_until, "the alert stays on the TV: no session starts by itself over it"
        assert not s.question_path.exists(), "the question is closed"
    finally:
        spool.close()
        pub.close()
        context.destroy(linger=0)


def test_a_real_fall_in_the_countdown_before_the_routine_is_asked_about(tmp_path):
    """The session started as the person came into view, and its countdown (20 s here) has not
    run out when they fall (knees_buckle_backward_front, MoveNet, real frames): the TV asks, in
    that session."""
    from services.scoring import Sessions

    name = "knees_buckle_backward_front.mp4"
    times, poses, height = clip_poses(f"falls/{name}", "movenet-lightning")
    context, ctx, pub, sub, spool = _service(tmp_path, countdown_s=5.0, start_delay_s=20.0)
    got: list = []
    try:
        s = Sessions(ctx, pub, spool)
        _drain(sub, got, lambda g: True, "the subscriber to connect")
        t0 = time.monotonic_ns()
        for i, (t, pose) in enumerate(zip(times, poses)):
            s.on_pose(_pose_message(pose, i, t0 + int(t * 1e9), height))
        asking = _drain(sub, got, lambda g: [m for m in g if m.TOPIC == "alert" and m.stage == "asking"],
                        "the question on the bus")
        asked_at = (asking[0].t_capture_ns - t0) / 1e9
        in_countdown = (asking[0].t_capture_ns - s.routine_start_ns) / 1e9
        print(f"\ncountdown: asked at {asked_at:.2f} s of the clip (truth: on the floor at {_floor_truth(name)} s), "
              f"{-in_countdown:.1f} s before the routine's start, session {asking[0].session_id[:8]}")
        assert s.session_id and asking[0].session_id == s.session_id and in_countdown < 0
        assert asked_at <= _floor_truth(name) + WITHIN_S
    finally:
        spool.close()
        pub.close()
        context.destroy(linger=0)


def test_with_no_session_running_a_near_miss_raises_nothing(tmp_path):
    """wheelchair_to_floor_mat (a deliberate move to the floor, then lying face down; MoveNet, real
    frames) with no session running (autostart off), the last pose held 10 s: no question, no call."""
    from services.scoring import Sessions

    times, poses, height = clip_poses("falls/wheelchair_to_floor_mat.mp4", "movenet-lightning")
    context, ctx, pub, sub, spool = _service(tmp_path, countdown_s=5.0, autostart=False)
    got: list = []
    try:
        s = Sessions(ctx, pub, spool)
        _drain(sub, got, lambda g: True, "the subscriber to connect")
        t0 = time.monotonic_ns()
        for i, (t, pose) in enumerate(zip(times, poses)):
            s.on_pose(_pose_message(pose, i, t0 + int(t * 1e9), height))
        t = times[-1]
        while t < times[-1] + 10:
            t += 1 / 15
            s.on_pose(_pose_message(poses[-1], 20_000 + int(t * 15), t0 + int(t * 1e9), height))
            s.tick(t0 + int(t * 1e9))
        s.flush_outbox()
        _drain(sub, got, lambda g: True, "the bus drained")
        alerts = [m for m in got if m.TOPIC == "alert"]
        print(f"\nnear miss, no session: {len(alerts)} alert message(s), question state {s.check.state!r} "
              f"(truth: not a fall)")
        assert not alerts and s.check.state == "watching" and s.fall.unit > 0, "watched, and quiet"
        assert not [r for r in spool.peek() if r.kind == "alert"]
    finally:
        spool.close()
        pub.close()
        context.destroy(linger=0)


def test_an_open_question_survives_a_restart_of_the_scoring_service(tmp_path):
    """A question asked (real fall frames, no session) and the service restarted before anyone
    answered: the new run asks again with the same alert id and the time left, and calls the carer
    once when the countdown (5 s, from when it was first asked) runs out."""
    from services.scoring import Sessions
    from tests.conftest import wait_for

    times, poses, height = clip_poses("falls/knees_buckle_backward_front.mp4", "movenet-lightning")
    context, ctx, pub, sub, spool = _service(tmp_path, countdown_s=5.0, autostart=False)
    got: list = []
    try:
        first = Sessions(ctx, pub, spool)
        _drain(sub, got, lambda g: True, "the subscriber to connect")
        t0 = time.monotonic_ns() - int(times[-1] * 1e9)  # the clip just played, on the real clock
        for i, (t, pose) in enumerate(zip(times, poses)):
            first.on_pose(_pose_message(pose, i, t0 + int(t * 1e9), height))
        asking = _drain(sub, got, lambda g: [m for m in g if m.TOPIC == "alert" and m.stage == "asking"],
                        "the question on the bus")
        assert first.question_path.exists()
        first_participant = first.participant
        del first  # the service stops before anyone answers
        got.clear()
        again = Sessions(ctx, pub, spool)
        again.resume()
        asked = _drain(sub, got, lambda g: [m for m in g if m.TOPIC == "alert" and m.stage == "asking"],
                       "the question again after the restart")
        print(f"\nafter the restart: asked again, alert {asked[0].alert_id[:8]} (was {asking[0].alert_id[:8]}), "
              f"{asked[0].countdown_s} s left of 5")
        assert asked[0].alert_id == asking[0].alert_id and 0 < asked[0].countdown_s <= 5.0
        # Someone else is chosen before the countdown runs out (a fresh-eyes trial: kim's session start
        # sent lee's open fall as "participant kim"): the call still names the person who fell.
        fell = first_participant
        again.participant = "kim"
        wait_for(lambda: (again.tick(time.monotonic_ns()), again.check.state != "asking")[1], timeout_s=10,
                 what="the countdown to run out after the restart")
        again.flush_outbox()
        alerts = [r.payload for r in spool.peek() if r.kind == "alert"]
        print(f"called: {alerts}")
        assert len(alerts) == 1 and alerts[0]["alert_id"] == asking[0].alert_id
        assert alerts[0]["answer"] == "no_answer" and alerts[0]["session_id"] == ""
        assert alerts[0]["participant"] == fell != "kim", alerts[0]["participant"]
        assert not again.question_path.exists()
    finally:
        spool.close()
        pub.close()
        context.destroy(linger=0)


def messages_control(command: str):
    from common.bus import messages

    return messages.Control(seq=1, t_capture_ns=time.monotonic_ns(), command=command)


def test_the_tv_shows_the_question_counts_down_and_the_remote_answers_it(canvas):
    """The TV's side (no clips needed): an "asking" Alert puts the question on screen with the
    seconds left; the remote's OK then sends fall_ok (not pause); "answered" takes it away; a
    "called" Alert shows the alert screen instead."""
    import time

    from common.bus import messages
    from services.renderer import absorb, enter
    from services.renderer.samples import state_for
    from services.renderer.screen import draw, question_left, which_screen

    surface, fonts = canvas
    now = time.monotonic()
    s = state_for("exercise", "ko", now)
    base = dict(seq=1, t_capture_ns=0, alert_id="q1", session_id="s", kind="fall", detail="", unix=0.0)
    absorb(s, messages.Alert(**base, stage="asking", countdown_s=30.0), now)
    assert which_screen(s, now) == "fall_check" and draw(surface, fonts, s, now) == "fall_check"
    assert question_left(s, now + 10.2) == 20 and which_screen(s, now + 36) != "fall_check"
    assert enter(s) == {"command": "fall_ok"}
    absorb(s, messages.Alert(**{**base, "seq": 2}, stage="answered", answer="wave"), now + 3)
    assert which_screen(s, now + 3) in ("exercise", "looking") and enter(s)["command"] in ("pause", "resume")
    absorb(s, messages.Alert(**{**base, "seq": 3}, stage="asking", countdown_s=30.0), now + 4)
    absorb(s, messages.Alert(**{**base, "seq": 4}, stage="called", answer="no_answer"), now + 34)
    assert which_screen(s, now + 34) == "alert" and s.question is None


def test_in_a_class_each_person_has_the_same_detector_and_one_who_drops_out_of_the_picture_is_asked_about(tmp_path):
    """Group mode (scoring.mode = "group"): every spot's session runs the same fall detector on its
    own person. Drawn poses (no clip has a class falling): spot 1 keeps standing; spot 2 stands low
    in the picture and drops fast out of its bottom edge, after which no pose comes for spot 2 at all
    (in a class nobody sends an empty pose for one person). The class's clock tells spot 2's detector
    of the absence: spot 2 is asked about, spot 1 is not."""
    from common.bus import messages
    from common.coach.synthetic import STANDING, common_pose
    from services.scoring import ClassSessions

    context, ctx, pub, sub, spool = _service(tmp_path, countdown_s=30.0, mode="group")
    got: list = []
    try:
        room = ClassSessions(ctx, pub, spool)
        fps, t0, h = 15, 10**12, 480
        _drain(sub, got, lambda g: True, "the subscriber to connect")
        for i in range(int(6 * fps)):
            t_ns = t0 + int(i * 1e9 / fps)
            for spot in (1, 2):
                floor = 470.0 + (60.0 * (i - 3 * fps) if spot == 2 and i >= 3 * fps else 0.0)
                kps = common_pose(STANDING, center_x=200.0 * spot, floor_y=floor)
                kps[kps[:, 1] > h, 2] = 0.0  # below the picture: not seen
                if kps[:, 2].max() == 0:
                    continue  # spot 2 is gone: no pose for them
                room.on_pose(messages.Pose(seq=i * 2 + spot, t_capture_ns=t_ns, frame_id=i, width=640, height=h,
                                           model="m", backend="cpu", layout="coco17", keypoints=kps[:17].tolist(),
                                           spot=spot))
            room.tick(t_ns)
        asking = _drain(sub, got, lambda g: [m for m in g if m.TOPIC == "alert" and m.stage == "asking"],
                        "the question for spot 2")
        print(f"\nasked about spot {asking[0].spot}: {asking[0].detail}")
        assert {m.spot for m in asking} == {2}
        assert type(room.members[1].fall) is type(room.members[2].fall)  # one detector, per person
        assert room.members[1].check.state == "watching" and room.members[2].check.state == "asking"
    finally:
        spool.close()
        pub.close()
        context.destroy(linger=0)


# -- a program: lying down while the instructor lies is the exercise, not a fall -------------------

CANVAS = (640, 360)  # the trial's joined video's size: each clip letterboxed into it, as a join does


def _on_canvas(name: str):
    """A clip's (capture times, poses, fps) letterboxed into CANVAS, as a joined program video
    shows it (join_clips in tests/test_program.py), so one person's upright height carries across
    the cut from one clip to the next."""
    from common.cli.routine import video_size

    times, poses, _ = clip_poses(name, "movenet-lightning")
    w, h = video_size(str(media_file(name)))
    scale = min(CANVAS[0] / w, CANVAS[1] / h)
    off = np.array([(CANVAS[0] - w * scale) / 2, (CANVAS[1] - h * scale) / 2])
    out = []
    for pose in poses:
        if pose is not None:
            pose = pose.copy()
            pose[:, :2] = pose[:, :2] * scale + off
        out.append(pose)
    return [t - times[0] for t in times], out, (len(times) - 1) / (times[-1] - times[0])


def _program_file(tmp_path, second: str, first_s: float) -> str:
    """Two parts: the bundled squat (standing) for first_s, then `second` (a routine name or file)."""
    import json

    from common.coach import routine as routines

    path = tmp_path / f"two_{len(list(tmp_path.glob('two_*')))}.json"
    path.write_text(json.dumps({"name": "two", "title": {"ko": "두 동작", "en": "Two movements"}, "parts": [
        {"name": {"ko": "스쿼트", "en": "Squats"}, "routine": "squat", "duration_s": first_s,
         "rest_s": 0.0},  # no rest: the cut straight into the next part, as the trial's program
        {"name": {"ko": "윗몸 일으키기", "en": "Sit-ups"}, "routine": second,
         "duration_s": round(routines.load(second).duration_s, 2)}]}), encoding="utf-8")
    return str(path)


def _through_the_service(tmp_path, program: str, clips: list[tuple[float, list, list]], hold_to_s: float):
    """The scoring service (real ZeroMQ, real spool) with `program`, a participant made of real
    clips each starting at its time (a hard cut, as a joined video has), the last pose of each held
    until the next (standing still). Returns (question or call times in program time, the session's
    summary)."""
    from services.scoring import Sessions

    folder = tmp_path / f"svc{len(list(tmp_path.glob('svc*')))}"
    folder.mkdir()
    context, ctx, pub, sub, spool = _service(folder, COUNTDOWN_S, program=program)
    raised: list = []
    try:
        s = Sessions(ctx, pub, spool)
        t0, frame, last = 10**12, 0, None
        timeline = []
        for k, (start, times, poses) in enumerate(clips):
            end = clips[k + 1][0] if k + 1 < len(clips) else hold_to_s
            timeline += [(start + t, p) for t, p in zip(times, poses) if start + t < end]
            t = timeline[-1][0]
            while t + 1 / 15 < end:  # held: standing (or lying) still until the next clip
                t += 1 / 15
                timeline.append((t, poses[-1]))
        for t, pose in timeline:
            frame += 1
            s.on_pose(_pose_message(pose, frame, t0 + int(t * 1e9), CANVAS[1]))
            s.tick(t0 + int(t * 1e9))
            if s.check.state == "asking" and (not raised or raised[-1][1] != "asked"):
                raised.append((round(t, 2), "asked"))
            if any(a["kind"] == "fall" for a in s.alerts) and not [r for r in raised if r[1] == "called"]:
                raised.append((round(t, 2), "called"))
        summary = s.finish("stopped") if s.session_id else {}
        return raised, summary
    finally:
        spool.close()
        pub.close()
        context.destroy(linger=0)


def test_sit_ups_in_a_program_part_built_from_them_raise_nothing_and_a_fall_in_a_standing_part_is_asked(tmp_path):
    """The trial of issue 46: a program whose part is sit-ups on a floor mat (falls/situps_floor_mat,
    a near miss that must not alarm) raised "a fall is suspected" 1.3 s into the part, the person
    having stood for the part before (a hard cut from standing to lying, as a joined video has).
    Lying while the part's instructor lies (the part built from that clip: its keyframes' trunk
    lies) is the exercise: nothing is raised. The control: the same person and cut with a standing
    part there (the bundled squat) is asked about, so the rule is what keeps it quiet. And a real
    fall (falls/knees_buckle_backward_front, README: FALL, on the floor at 1.1 s) in the standing
    part of a program with the same sit-ups part after it is still asked about. MoveNet, real frames, letterboxed into one
    640x360 picture as a joined video; before the cut, as in the trial, jumping jacks
    (dev/jumping_jacks_fast_front_gym, another man)."""
    from common.cli.routine import build, write_routine
    from common.coach import routine as routines
    from common.coach.fall import lies_down

    st, sp, _ = _on_canvas("dev/jumping_jacks_fast_front_gym.mp4")  # the part before, as in the trial
    ut, up, ufps = _on_canvas("falls/situps_floor_mat.mp4")
    kt, kp, _ = _on_canvas("falls/knees_buckle_backward_front.mp4")
    held = [p if p is not None else next(q for q in up if q is not None) for p in up]
    situps = build("situps_part", held, [None] * len(held), ufps, "falls/situps_floor_mat.mp4", CANVAS)
    routine_file = tmp_path / "situps_part.json"
    write_routine(situps, routine_file)
    lean = [kf.angles.get("trunk_lean") for kf in situps.keyframes if kf.angles.get("trunk_lean") is not None]
    print(f"\nthe sit-ups part's instructor: trunk 90th percentile {np.percentile(lean, 90):.0f} deg (lies down: "
          f"{lies_down(situps)}); the bundled squat's: lies down {lies_down(routines.load('squat'))}")
    assert lies_down(routines.load(str(routine_file))) and not lies_down(routines.load("squat"))

    first_s = 6.0  # the jumping jacks (6.0 s) until the cut
    floor = _program_file(tmp_path, str(routine_file), first_s)
    raised, summary = _through_the_service(tmp_path, floor, [(0.0, st, sp), (first_s, ut, up)], first_s + 11.9)
    print(f"sit-ups in the part built from them: {raised or 'nothing raised'} (truth: not a fall); part reps "
          f"{[(p['part'], p['reps']) for p in summary.get('parts', [])]}")
    assert raised == [] and not summary.get("fell")

    standing = _program_file(tmp_path, "squat", first_s)
    raised_standing, _ = _through_the_service(tmp_path, standing, [(0.0, st, sp), (first_s, ut, up)], first_s + 11.9)
    print(f"the same cut with a standing part there (control): {raised_standing}")
    assert raised_standing and raised_standing[0][1] == "asked" and raised_standing[0][0] < first_s + 3.0

    # The fall clip's man from the session's start (his own upright height), the sit-ups part 10 s on.
    later_floor = _program_file(tmp_path, str(routine_file), 10.0)
    raised_fall, _ = _through_the_service(tmp_path, later_floor, [(0.0, kt, kp)], 8.0)
    truth_s = _floor_truth("knees_buckle_backward_front.mp4")
    print(f"a real fall in the standing part: {raised_fall} (truth: on the floor at {truth_s:.2f} s)")
    assert raised_fall and raised_fall[0][1] == "asked" and raised_fall[0][0] <= truth_s + WITHIN_S


@pytest.mark.parametrize("after", ["stays down", "stands up again"])
def test_a_session_ends_cut_short_by_a_fall_only_when_the_person_is_still_down(tmp_path, after):
    """knees_buckle_backward_front (MoveNet, real frames) in a session, nobody answering: the carer
    is called (countdown 5 s here). Then either the last pose is held (lying still, not filmed) or
    the person is up again and exercising (dev/jumping_jacks_fast_front_gym, another man, a hard cut)
    before the session ends: the record says "fall" (cut short: summary.ended FALL_CUT_SHORT and
    fell, left out of scores) only in the first case; in the second the session ran on and ends as
    any other (a fresh-eyes trial's program, a false alarm in part 4 and all 7 parts scored after
    it, was left out of the report whole)."""
    from common.central.report import FALL_CUT_SHORT as REPORTS, RAN_ITS_COURSE, counts_in_scores
    from common.coach.session import COMPLETED, FALL_CUT_SHORT, VIDEO_ENDED
    from services.scoring import Sessions

    assert REPORTS == FALL_CUT_SHORT and set(RAN_ITS_COURSE) == {COMPLETED, VIDEO_ENDED}, \
        "the report reads the reasons the service writes"
    kt, kp, _ = _on_canvas("falls/knees_buckle_backward_front.mp4")
    st, sp, _ = _on_canvas("dev/jumping_jacks_fast_front_gym.mp4")
    context, ctx, pub, sub, spool = _service(tmp_path, countdown_s=5.0)
    try:
        s = Sessions(ctx, pub, spool)
        t0, frame = 10**12, 0
        timeline = list(zip(kt, kp))
        t = kt[-1]
        while t < kt[-1] + 6.0:  # lying still until the call (5 s countdown)
            t += 1 / 15
            timeline.append((t, kp[-1]))
        if after == "stands up again":
            timeline += [(t + 0.1 + u, p) for u, p in zip(st, sp)]
        else:
            timeline += [(t + 0.1 + u, kp[-1]) for u in st]
        up_when_called = None
        for t, pose in timeline:
            frame += 1
            s.on_pose(_pose_message(pose, frame, t0 + int(t * 1e9), CANVAS[1]))
            s.tick(t0 + int(t * 1e9))
            if up_when_called is None and [a for a in s.alerts if a["kind"] == "fall"]:
                up_when_called = s.fall.up_since_event
        called = [a for a in s.alerts if a["kind"] == "fall"]
        # What the scoring service's Health tells the TV (messages.SCORING_UP_AGAIN, ClassSessions.up_again):
        # not up when called; up again at the end only if the person stood up (the TV's alert gives way then).
        print(f"up again: when called {up_when_called}, at the end {s.fall.up_since_event}")
        assert up_when_called is False and s.fall.up_since_event == (after == "stands up again")
        if s.session_id:
            s.finish("stopped")
        s.flush_outbox()
        records = [r.payload for r in spool.peek() if r.kind == "session"]
        summary = records[-1]["summary"]
        print(f"\n{after}: called {[a['answer'] for a in called]}, the session ended {summary['ended']!r}, "
              f"fell {summary.get('fell')}, counts in scores {counts_in_scores(records[-1])}")
        assert called and called[0]["answer"] == "no_answer"
        if after == "stays down":
            assert summary["ended"] == FALL_CUT_SHORT and summary["fell"] is True and not counts_in_scores(records[-1])
        else:
            assert summary["ended"] != FALL_CUT_SHORT and "fell" not in summary
    finally:
        spool.close()
        pub.close()
        context.destroy(linger=0)


def test_the_scoring_service_tells_the_tv_the_person_is_up_again_and_its_alert_gives_way(tmp_path):
    """[program] Fresh-eyes trial 46c: a false alarm's alert covered the program for 30 s. The
    scoring service as it runs (main(): real ZeroMQ, a real spool), hearing real MoveNet frames from
    a test publisher on inference's endpoint: knees_buckle_backward_front (the fall, then held lying
    until the carer is called, countdown 5 s here), then the jumping-jack man of
    dev/jumping_jacks_fast_front_gym (a hard cut, letterboxed as a join: up and exercising). Its
    Health's up_again (messages.SCORING_UP_AGAIN) turns false with the fall and true again once he
    is up; the TV's state fed those very messages at their arrival puts the alert away then, but
    not before ALERT_MIN_S (screen.alert_until), instead of ALERT_SHOW_S."""
    import logging
    import threading
    import time

    import zmq

    import services.scoring as scoring
    from common import config as configuration
    from common.bus import messages
    from common.bus.service import ServiceContext
    from common.bus.sockets import Publisher, Subscriber
    from services.renderer import absorb
    from services.renderer.samples import state_for
    from services.renderer.screen import ALERT_MIN_S, ALERT_SHOW_S, alert_until
    from tests.conftest import wait_for

    kt, kp, _ = _on_canvas("falls/knees_buckle_backward_front.mp4")
    jt, jp, _ = _on_canvas("dev/jumping_jacks_fast_front_gym.mp4")
    (tmp_path / "run").mkdir()
    cfg = configuration.load(None, {"bus": {"runtime_dir": str(tmp_path / "run")},
                                    "uplink": {"spool_path": str(tmp_path / "s.db")},
                                    "scoring": {"routine": "squat", "start_delay_s": 0, "fall_countdown_s": 5.0}})
    context = zmq.Context()
    ctx = ServiceContext("scoring", cfg, context, threading.Event(), logging.getLogger("scoring"))
    service = threading.Thread(target=scoring.main, args=(ctx,))
    inference = Publisher(context, cfg.bus.endpoint("inference"))
    sub = Subscriber(context, cfg.bus.all_endpoints(), ["health", "alert"])
    heard: list = []  # (arrival, message) of scoring's Health and Alerts

    def listen(ms: int = 0) -> None:
        heard.extend((time.monotonic(), m) for m in sub.receive(timeout_ms=ms)
                     if m.TOPIC == "alert" or m.service == "scoring")

    def ups() -> list:
        return [m.detail.get(messages.SCORING_UP_AGAIN) for _, m in heard if m.TOPIC == "health"]

    timeline = list(zip(kt, kp))
    t = kt[-1]
    while t < kt[-1] + 6.0:  # lying still: asked, then called after the 5 s countdown
        t += 1 / 15
        timeline.append((t, kp[-1]))
    timeline += [(t + 0.1 + u, p) for u, p in zip(jt, jp)]
    t0 = time.monotonic_ns()
    try:
        service.start()
        wait_for(lambda: listen(100) or ups(), 30.0, what="the scoring service's first Health")
        assert ups()[-1] is True, "before any fall: up"
        for i, (t, pose) in enumerate(timeline):
            inference.publish(_pose_message(pose, i, t0 + int(t * 1e9), CANVAS[1]))
            time.sleep(0.002)  # pacing the publisher (scoring drains its poses latest-only), not a wait
            listen()
        wait_for(lambda: listen(50) or (False in ups() and ups()[-1] is True), 15.0,
                 what="Health saying up again after the fall")
    finally:
        ctx.stop.set()
        service.join(10)
        inference.close()
        sub.close()
        context.destroy(linger=0)
    stages = [m.stage for _, m in heard if m.TOPIC == "alert"]
    print(f"\nalerts {stages}; Health up_again in order: {ups()}")
    assert "asking" in stages and "called" in stages
    s = state_for("exercise", "ko", heard[0][0])
    for at, msg in heard:
        absorb(s, msg, at)
    called_at = next(at for at, m in heard if m.TOPIC == "alert" and m.stage == "called")
    until = alert_until(s)
    print(f"the alert gives way {until - called_at:.1f} s after the call (was {ALERT_SHOW_S:.0f} s; at least {ALERT_MIN_S:.0f})")
    assert s.alert is not None and s.alert.stage == "called"
    assert until == pytest.approx(max(called_at + ALERT_MIN_S, s.up_again_at)) and until < called_at + ALERT_SHOW_S


@pytest.mark.parametrize("clip, truth", [("falls/knees_buckle_backward_front.mp4", "fall"),
                                         ("falls/sit_down_on_bed.mp4", "video ended")])
def test_score_ends_a_session_with_a_fall_in_it_by_the_services_rule(clip, truth):
    """`silvergym score` ends a session the way the scoring service does (common/coach/session.py
    cut_short_by_fall, the one rule both call): a fall raised in it, the person not up again, ends
    it "fall" with `fell`; a near miss ends as the video does. Real clips, the Coral's model."""
    import json
    import subprocess
    import sys

    from tests.conftest import REPO

    out = subprocess.run([sys.executable, "-m", "common.cli", "score", "--routine", "squat", "--video",
                          str(media_file(clip)), "--model", "movenet-lightning", "--json"],
                         capture_output=True, text=True, cwd=REPO, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    summary = json.loads(out.stdout.splitlines()[-1])
    print(f"\n{clip}: truth {truth!r}; score ended {summary['ended']!r}, fell {summary.get('fell', False)}, "
          f"alerts {summary['alerts']}")
    assert summary["ended"] == truth and summary.get("fell", False) == (truth == "fall")
