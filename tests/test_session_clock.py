"""When a session ends, on which clock ([class] #44, a fresh-eyes trial's live run): a recorded
participant's pictures wait for the model, so on a loaded box their capture times fall behind the
wall clock; the scoring service's tick ended such a session "completed" when the wall clock passed
the routine's end, with a third of the clip unread (two_people_sports2d, `run --once`: 150 of 230
pictures). Tier 1: the scoring service's Sessions with real sockets and a real spool, poses drawn
(common/coach/synthetic.py), the time injected (no sleeping)."""
from __future__ import annotations

import time

import numpy as np

from tests.test_class_of_one import service


def drawn_pose(routine, t: float, i: int, t_capture_ns: int):
    from common.bus import messages
    from common.coach.synthetic import pose3d

    xyz = pose3d(routine.target(t))
    keypoints = np.column_stack([xyz[:17, :2], np.full(17, 0.9)])
    return messages.Pose(seq=i, t_capture_ns=t_capture_ns, frame_id=i, width=640, height=480, model="movenet-lightning",
                         backend="cpu", layout="coco17", keypoints=keypoints.tolist(), track=1, people=1)


def ended(spool) -> list[str]:
    return [r.payload["summary"]["ended"] for r in spool.peek() if r.kind == "session"]


def test_a_recorded_participant_read_slower_than_real_time_is_not_ended_by_the_wall_clock(tmp_path):
    from common.coach import routine as routines
    from services.scoring import END_GRACE_S, Sessions

    ctx, pub, spool, context = service(tmp_path, "slow", {"routine": "arm_raise"})
    try:
        sessions = Sessions(ctx, pub, spool)
        routine = routines.load("arm_raise")
        # The capture clock is the monotonic clock (a camera's pictures are stamped with it): start now.
        fps, t0 = 15.0, time.monotonic_ns()
        # Read at a third of real time: each picture 3/fps of wall time after the one before.
        n_half = int(routine.duration_s * fps / 2)
        for i in range(n_half):
            at = i / fps
            sessions.on_pose(drawn_pose(routine, at, i, t0 + int(at * 1e9)))
            sessions.tick(t0 + int(3 * at * 1e9))
        wall = t0 + int(3 * (n_half / fps) * 1e9)
        sessions.flush_outbox()
        print(f"\nhalf the routine read ({n_half / fps:.0f} of {routine.duration_s:.0f} s) in "
              f"{(wall - t0) / 1e9:.0f} s of wall time: sessions ended {ended(spool)} (truth: none yet)")
        assert sessions.session_id and ended(spool) == [], "ended on the wall clock with half the pictures unread"
        # The pictures stop coming (the camera gone): the session ends END_GRACE_S past the routine's end
        # on the capture clock, run on by the wall clock since the last picture came.
        last_capture = t0 + int((n_half - 1) / fps * 1e9)
        left_s = (sessions.routine_start_ns + int(routine.duration_s * 1e9) - last_capture) / 1e9
        sessions.tick(wall + int((left_s + END_GRACE_S - 0.5) * 1e9))
        sessions.flush_outbox()
        assert ended(spool) == [], "before the grace past the end"
        sessions.tick(wall + int((left_s + END_GRACE_S + 0.5) * 1e9))
        sessions.flush_outbox()
        print(f"no picture after it: ended {ended(spool)} {END_GRACE_S} s past the routine's end (truth: completed)")
        assert ended(spool) == ["completed"]
    finally:
        spool.close()
        pub.close()
        context.destroy(linger=0)
