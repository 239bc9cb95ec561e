"""A person is a class of one ([class]): one-person mode and group mode run through the same class
code, common/coach/session.py's ClassSession (its admission: OnePerson, the one person at one spot,
or a class's ClassRoll), driven by the scoring service (services/scoring.py ClassSessions, which
main() builds in both modes), by `silvergym score` (one person through play_recording, a class
through score_class) and by the tests (play_recording, ClassSession.update).

Real ZeroMQ sockets and a real spool; a real clip (../shared/media/squats_5reps.mp4: 5 squats,
README.md there) read by the real models. One person as a class of one gives the records the
service gave before (a Sessions driven directly, as main() did in one-person mode).
"""
from __future__ import annotations

import inspect
import logging
import threading
from types import SimpleNamespace

import numpy as np
import pytest

from tests.conftest import media_file, poses_of_video, wait_for

CLIP, TRUTH_REPS = "squats_5reps.mp4", 5


def service(tmp_path, name: str, scoring: dict):
    """A scoring service's context, publisher and spool (real sockets, a real spool file)."""
    import zmq

    from common import config as configuration
    from common.bus.service import ServiceContext
    from common.bus.sockets import Publisher
    from common.spool import Spool

    run = tmp_path / f"run-{name}"
    run.mkdir()
    cfg = configuration.load(None, {"bus": {"runtime_dir": str(run)},
                                    "uplink": {"spool_path": str(tmp_path / f"{name}.db")},
                                    "scoring": {"autostart": True, "start_delay_s": 0, **scoring}})
    context = zmq.Context()
    ctx = ServiceContext("scoring", cfg, context, threading.Event(), logging.getLogger("scoring"))
    return ctx, Publisher(context, ctx.endpoint()), Spool(tmp_path / f"{name}.db"), context


def pose_messages(poses: list, worlds: list, fps: float, size, t0: int) -> list:
    """The clip's readings as inference publishes them in one-person mode (the common skeleton's
    first 17 points are COCO-17's): nobody in view is the empty Pose, the one person track 1."""
    from common.bus import messages

    out = []
    for i, (p, w) in enumerate(zip(poses, worlds)):
        seen = bool(np.any(p[:, 2] > 0))
        out.append(messages.Pose(
            seq=i, t_capture_ns=t0 + int(round(i * 1e9 / fps)), frame_id=i, width=size[0], height=size[1],
            model="blazepose-full", backend="cpu", layout="coco17", keypoints=p[:17].tolist() if seen else [],
            world=w[:17].tolist() if seen and w is not None else [], track=1 if seen else 0, people=int(seen)))
    return out


@pytest.fixture(scope="module")
def clip():
    from common.cli.routine import video_size

    path = media_file(CLIP)
    poses, worlds, fps = poses_of_video(path, "blazepose-full")
    return poses, worlds, fps, video_size(str(path))


def played_live(room, msgs) -> dict:
    """The clip through a service's sessions, then the remote's stop: the session record spooled."""
    import time

    from common.bus import messages

    for m in msgs:
        room.on_pose(m)
    room.on_control(messages.Control(seq=1, t_capture_ns=msgs[-1].t_capture_ns, command="stop"),
                    time.monotonic_ns())
    room.flush_outbox()
    return [r.payload for r in room.spool.peek() if r.kind == "session"]


def squats_offline(poses, worlds, fps, size) -> dict:
    """The clip's squat session summary as `silvergym score` reads it (play_recording)."""
    from common.coach import routine as routines
    from common.coach.session import PersonSession, play_recording

    offline = PersonSession(routines.load("squat"))
    return offline.summary(play_recording(offline, poses, worlds, fps, size))


def test_one_person_as_a_class_of_one_scores_the_real_clip_as_before(tmp_path, clip):
    """The scoring service in one-person mode (ClassSessions, a class of one) against the same
    service's Sessions driven directly (what main() ran for one person before): the same session
    record on the real clip (repetitions, score, frames, corrections; no class fields), the same
    checkpoint file, and the repetitions `silvergym score`'s play_recording counts offline."""
    import services.scoring as scoring

    poses, worlds, fps, size = clip
    msgs = pose_messages(poses, worlds, fps, size, t0=10**12)
    records = {}
    for name, make in (("class_of_one", scoring.ClassSessions), ("sessions", scoring.Sessions)):
        ctx, pub, spool, context = service(tmp_path, name, {"routine": "squat"})
        try:
            room = make(ctx, pub, spool)
            for m in msgs[:5]:
                room.on_pose(m)
            room.save_checkpoint(0.0)
            checkpoints = sorted(p.name.removeprefix(f"{name}.db") for p in tmp_path.glob(f"{name}.db.*.json"))
            if make is scoring.Sessions:  # the old layout's checkpoint: a class of one resumes it
                again = scoring.ClassSessions(ctx, pub, spool)
                again.resume()
                assert again.session_id == room.session_id != "" and again.members[0].scorer.frames == 5
            [records[name]] = played_live(room, msgs[5:])  # the rest of the clip, the same session
            records[name]["checkpoints"] = checkpoints
        finally:
            spool.close()
            pub.close()
            context.destroy(linger=0)
    offline_summary = squats_offline(poses, worlds, fps, size)
    keys = ("reps", "score", "frames", "frames_scored", "ended", "exercised", "joints", "corrections")
    for name, record in records.items():
        s = record["summary"]
        print(f"\n{name}: {s['reps']} squats (truth {TRUTH_REPS}), score {s['score']:.2f}, "
              f"{s['frames_scored']}/{s['frames']} frames, checkpoints {record['checkpoints']}")
    print(f"offline (silvergym score's play_recording): {offline_summary['reps']} squats, "
          f"score {offline_summary['score']:.2f}, {offline_summary['frames_scored']}/{offline_summary['frames']} frames")
    one, before = records["class_of_one"], records["sessions"]
    assert {k: one["summary"][k] for k in keys} == {k: before["summary"][k] for k in keys}
    assert one["checkpoints"] == before["checkpoints"] == [".session.json"]  # one person's file, as before
    assert set(one) == set(before) and "class_id" not in one and "spot" not in one  # the same record's fields
    assert one["summary"]["reps"] == offline_summary["reps"] == TRUTH_REPS


def test_a_recorded_participant_whose_camera_heard_of_the_session_late_is_scored_from_the_files_start(tmp_path, clip):
    """A recorded participant (camera.start_with_session) whose camera heard of the session late (its
    first "start" published before the camera's subscription was up): the held first picture went on
    past the routine's start, stamped on the clock, then the file played from its start at the
    routine's t = 0, so the capture clock went back. The one person's admission kept the later time
    as the last picture heard and never heard the file's first seconds: run --once counted 3 of the
    lateral raises' 4 (score 4), 7 of squat_side_studio's 8, on a loaded CI box."""
    import dataclasses

    import services.scoring as scoring

    poses, worlds, fps, size = clip
    start = 10**12
    played = pose_messages(poses, worlds, fps, size, t0=start)
    first_seen = next(m for m in played if m.keypoints)
    late_s = 1.6  # as measured on a run --once of the lateral raises (its camera 1.6 s late)
    held = [dataclasses.replace(first_seen, seq=k, frame_id=k, t_capture_ns=start + int(round(k * 1e9 / fps)))
            for k in range(int(late_s * fps) + 1)]
    played = [dataclasses.replace(m, seq=len(held) + k, frame_id=len(held) + k) for k, m in enumerate(played)]
    ctx, pub, spool, context = service(tmp_path, "late", {"routine": "squat"})
    try:
        room = scoring.ClassSessions(ctx, pub, spool)
        [record] = played_live(room, held + played)
    finally:
        spool.close()
        pub.close()
        context.destroy(linger=0)
    offline_summary = squats_offline(poses, worlds, fps, size)
    s = record["summary"]
    print(f"\nheld picture {late_s} s past the start, then the file from t = 0: {s['reps']} squats, score "
          f"{s['score']:.2f}, {s['frames']} frames; offline {offline_summary['reps']} squats, score "
          f"{offline_summary['score']:.2f}, {offline_summary['frames']} frames (truth {TRUTH_REPS} squats)")
    assert s["reps"] == offline_summary["reps"] == TRUTH_REPS
    assert s["frames"] == offline_summary["frames"] and abs(s["score"] - offline_summary["score"]) < 0.01


def test_score_the_service_alone_and_in_a_class_and_the_tests_drive_one_class_code(tmp_path, clip, monkeypatch):
    """Every way a session is run goes through ClassSession.admit, with OnePerson's admission for
    one person and ClassRoll's for a class, and each person's readings through PersonSession.update:
    main() builds the one ClassSessions in one-person mode (run for real on its sockets and spool),
    which admits the clip's squatter; the service in group mode; `silvergym score` alone (run) and
    in a class (run_group) on the real clip; the tests' play_recording and ClassSession.update."""
    import common.cli.score as score_cli
    import services.scoring as scoring
    from common.coach import routine as routines
    from common.coach import session as session_code

    calls: list[tuple[str, set]] = []  # (admission, the functions on the way to ClassSession.admit)
    on_the_way: dict[str, set] = {"session": set()}

    def admit(self, *args, **kwargs):
        calls.append((type(self.roll).__name__, {f.frame.f_code.co_qualname for f in inspect.stack()[1:8]}))
        return real_admit(self, *args, **kwargs)
    real_admit = session_code.ClassSession.admit
    monkeypatch.setattr(session_code.ClassSession, "admit", admit)
    real_update = session_code.PersonSession.update

    def update(self, *args, **kwargs):
        on_the_way["session"].update(f.frame.f_code.co_qualname for f in inspect.stack()[1:8])
        return real_update(self, *args, **kwargs)
    monkeypatch.setattr(session_code.PersonSession, "update", update)
    assert scoring.ClassSession is session_code.ClassSession and scoring.PersonSession is session_code.PersonSession

    def through(admission: str, caller: str) -> int:
        return sum(1 for kind, way in calls if kind == admission and caller in way)

    poses, worlds, fps, size = clip
    msgs = pose_messages(poses, worlds, fps, size, t0=10**12)
    # The service's main() in one-person mode, for real: the sessions it builds are a class of one.
    ctx, pub, spool, context = service(tmp_path, "main", {"routine": "squat"})
    pub.close()
    spool.close()
    built = []
    real_resume = scoring.ClassSessions.resume

    def resume(self):
        built.append(self)
        ctx.stop.set()  # built and resumed: the loop ends at once
        return real_resume(self)
    monkeypatch.setattr(scoring.ClassSessions, "resume", resume)
    main = threading.Thread(target=lambda: built.append(scoring.main(ctx)))
    main.start()
    wait_for(lambda: len(built) == 2, 30.0, what="scoring.main to build its sessions and stop")
    main.join(10)
    room, rc = built
    assert rc == 0 and room.alone and list(room.members) == [0] and type(room.members[0]) is scoring.Sessions
    context.destroy(linger=0)
    # That class of one scoring the clip (the service as main() drives it), and the same service in
    # group mode.
    for name, mode in (("alone", "one"), ("group", "group")):
        ctx, pub, spool, context = service(tmp_path, name, {"routine": "squat", "mode": mode})
        try:
            room = scoring.ClassSessions(ctx, pub, spool)
            [record] = played_live(room, msgs)
            print(f"\nthe service, mode {mode}: {record['summary']['reps']} squats (truth {TRUTH_REPS}), "
                  f"spot {record.get('spot', '- (one person)')}")
            assert record["summary"]["reps"] == TRUTH_REPS
            assert ("spot" in record) == (mode == "group")
        finally:
            spool.close()
            pub.close()
            context.destroy(linger=0)
    # `silvergym score` on the real clip, alone and in a class (movenet: the Coral's model, quick)
    video = str(media_file(CLIP))
    one = SimpleNamespace(config=None, overrides={}, routine="squat", video=video, model="movenet-lightning",
                          cache="", lag=0.0, naive=False, json=True)
    assert score_cli.run(one) == 0
    from common import config as configuration

    assert score_cli.run_group(one, routines.load("squat"), configuration.load(None, {"scoring": {"mode": "group"}})) == 0
    # The tests' ways: play_recording (test_score_real, test_pace_real ...) and a ClassSession (test_group).
    person = session_code.PersonSession(routines.load("squat"))
    session_code.play_recording(person, poses, worlds, fps, size)
    room = session_code.ClassSession(routines.load("squat"), max_people=4)
    for i, (p, w) in enumerate(zip(poses, worlds)):
        room.update(i / fps, [(1, p, w, size)], size)
    counted = {(kind, way): through(kind, way) for kind, way in (
        ("OnePerson", "ClassSessions._roll_frame"), ("ClassRoll", "ClassSessions._roll_frame"),
        ("OnePerson", "run"), ("ClassRoll", "run_group"), ("OnePerson", "play_recording"),
        ("ClassRoll", "ClassSession.update"))}
    print("calls of ClassSession.admit, by admission and way: "
          + ", ".join(f"{k} via {w}: {n}" for (k, w), n in counted.items()))
    assert all(counted.values()), counted
    # One person's every reading in the service (nobody in view too) went through OnePerson's admission
    assert sum(1 for kind, way in calls if kind == "OnePerson" and "ClassSessions.on_pose" in way) == len(msgs)
    print(f"on the way to PersonSession.update: {sorted(c for c in on_the_way['session'] if not c.startswith('<'))}")
    assert {"Sessions.on_pose", "ClassSession.update", "play_recording", "run", "score_class"} <= on_the_way["session"]


def _raising(t: float, x: float, period: float = 2.0) -> np.ndarray:
    """A drawn person at x doing arm raises (shoulders 15 -> 165 -> 15 every `period` s from t = 0)."""
    from common.coach.synthetic import common_pose

    lift = 15 + 150 * (0.5 - 0.5 * np.cos(2 * np.pi * t / period))
    return common_pose({"left_shoulder": lift, "right_shoulder": lift}, center_x=x)


def _walking(t: float, x0: float, speed: float) -> np.ndarray:
    """A drawn person walking across at `speed` px/s (about 2 torso lengths a second), arms swinging."""
    from common.coach.synthetic import common_pose

    swing = 30 + 15 * np.sin(2 * np.pi * t)
    return common_pose({"left_shoulder": swing, "right_shoulder": 60 - swing,
                        "left_knee": 150 + 25 * np.sin(2 * np.pi * t)}, center_x=x0 + speed * t)


def test_a_class_of_one_hears_the_person_exercising_in_place_not_a_passer_by():
    """Drawn (pure logic): one-person mode's admission (OnePerson, a class of one) given everyone a
    front follows, at 10 pictures a second with the arm-raise routine. A walker alone in view for
    the first second is the one (alone in view, as one person's mode always heard whoever it read:
    their falls watched); a person comes in at 1 s and stands in place, raising their arms every 2 s
    from 2 s on, while the walker walks on through, passing in front of them. In place RETURN_S, the
    raiser is the one, heard from when they came in place (what made them the one, as a class's
    member is scored from there) but, followed on a picture with the walker heard last, from
    READ_GAP_S after her last reading heard: the session's counter takes the change of body as a cut.
    Never the walker again; the session counts the raises it counts with only the raiser given (one
    person's front: every picture heard)."""
    from common.coach import routine as routines
    from common.coach.session import ClassSession, OnePerson, PersonSession

    arm_raise = routines.load("arm_raise")
    size = (1280, 720)
    counted = {}
    for given in ("the raiser alone", "everyone"):
        person = PersonSession(arm_raise)
        one = OnePerson(taken=True, routine=arm_raise)
        room = ClassSession(None, session_for=lambda spot: person, admission=one)
        heard = {}
        for i in range(121):
            t = i / 10
            people = [] if t < 1.0 else [(3, _raising(max(t - 2.0, 0.0), 400), None, size)]
            if given == "everyone" and t < 9.0:  # from x 1300 leftwards: past the raiser at about 5 s
                people.append((2, _walking(t, 1300, -180), None, size))
            for _, track, at, *_ in room.update(t, people, size):
                heard[round(at, 1)] = track
        raiser = sorted(t for t, track in heard.items() if track == 3)
        walker = sorted(t for t, track in heard.items() if track == 2)
        print(f"\n{given}: the walker heard at {walker[:1]}..{walker[-1:]} ({len(walker)} pictures), the raiser from "
              f"{raiser[:1]} ({len(raiser)} pictures of {sum(1 for i in range(121) if i >= 10)}); raises counted "
              f"{person.scorer.reps.count} (the raiser alone: {counted.get('the raiser alone', '-')}), never the one "
              f"{one.never_members()}")
        if given == "everyone":
            assert walker == [round(i / 10, 1) for i in range(10)], "the walker heard only while alone in view"
            assert raiser == [round(i / 10, 1) for i in range(20, 121)], "the raiser's every picture from 2 s"
        else:
            assert raiser == [round(i / 10, 1) for i in range(10, 121)], "the raiser's every picture"
        counted[given] = person.scorer.reps.count
    assert counted["everyone"] == counted["the raiser alone"] >= 4
