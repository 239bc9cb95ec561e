"""Sample screen states: one per screen, for the headless tests and docs/screens/*.png."""
from __future__ import annotations

import time

import numpy as np

from common.bus import messages
from common.coach import routine as routines
from common.coach.keypoints import COCO17
from common.coach.synthetic import draw_person, pose3d
from common.timeline import VerdictTimeline

W, H = 640, 480


def participant(angles: dict) -> tuple[np.ndarray, list]:
    """A drawn picture of a person in `angles` and its COCO-17 keypoints."""
    import cv2

    xyz = pose3d(angles, center_x=W / 2, floor_y=H * 0.95)
    img = np.full((H, W, 3), (200, 210, 215), dtype=np.uint8)
    kps = [[float(x), float(y), 0.9] for x, y, _ in xyz[: len(COCO17)]]
    for x, y, _ in kps:
        cv2.circle(img, (int(x), int(y)), 9, (90, 70, 60), -1)
    return img, kps


def a_class(count: int) -> tuple[np.ndarray, list[list]]:
    """A drawn picture of `count` people side by side and each one's COCO-17 keypoints."""
    import cv2

    img = np.full((H, W, 3), (200, 210, 215), dtype=np.uint8)
    people = []
    for k in range(count):
        angles = {"left_shoulder": 40 + 50 * k, "right_shoulder": 150 - 30 * k}
        xyz = pose3d(angles, center_x=W * (k + 0.5) / count, floor_y=H * 0.95)
        kps = [[float(x), float(y), 0.9] for x, y, _ in xyz[: len(COCO17)]]
        for x, y, _ in kps:
            cv2.circle(img, (int(x), int(y)), 7, (90, 70, 60), -1)
        people.append(kps)
    return img, people


def class_state(s, count: int, now: float) -> None:
    """`s` showing a class of `count` in the middle of the routine (spot 2 named by the roster)."""
    img, people = a_class(count)
    s.frame = messages.Frame(seq=1, t_capture_ns=0, frame_id=1, width=W, height=H, pixels=img)
    statuses = ("correct", "near", "wrong", "correct")
    s.people_frame = 1
    for k, kps in enumerate(people, start=1):
        s.people[k] = messages.Pose(seq=k, t_capture_ns=0, frame_id=1, width=W, height=H, model="blazepose-full",
                                    backend="cpu", layout="coco17", keypoints=kps, spot=k)
        s.people_scores[k] = messages.Score(
            seq=k, t_capture_ns=int(now * 1e9), frame_id=1, session_id=f"s{k}", routine=s.routine.name,
            joint_status={"left_shoulder": statuses[k - 1], "right_shoulder": "correct"}, joint_error_deg={},
            verdict=statuses[k - 1], reps=2 + k, score=60.0 + 7 * k, progress=0.4,
            guidance="left_shoulder.more" if k != 1 else "", phase="up", routine_t_s=17.3, spot=k)
        s.people_names[k] = "kim" if k == 2 else f"spot-{k}"
    s.participant_names = {"kim": "김영희"}
    s.pose, s.score = s.people[count], s.people_scores[count]
    s.a_class = True  # the renderer of scoring.mode = group
    s.class_running = {k: messages.Session(seq=k, t_capture_ns=0, session_id=f"s{k}", event="start", routine=s.routine.name,
                                           participant=s.people_names[k], started_unix=0.0, spot=k, class_id="c")
                       for k in s.people}


# A session's seconds as the strip shows them (c correct, n near, w wrong, - unscored).
SAMPLE_TIMELINE = "ccnccccwwnccccc--cnccccccwwwnccccccccnccc"


def timeline_of(codes: str) -> VerdictTimeline:
    line = VerdictTimeline()
    for second, code in enumerate(codes):
        if code != "-":
            line.add(second + 0.5, {"c": "correct", "n": "near", "w": "wrong"}[code])
    return line


class DrawnInstructorFootage:
    """For the documentation's screenshot only: an instructor's "video" frame drawn by
    common.coach.synthetic (a real one comes from `silvergym routine build`, see footage.py)."""

    FPS = 30.0
    broken = False

    def __init__(self, routine):
        self.routine = routine

    def frame_index(self, t: float) -> int:
        return int(max(t, 0.0) * self.FPS)

    def frame_at(self, t: float) -> np.ndarray:
        xyz = pose3d(self.routine.target(self.frame_index(t) / self.FPS), center_x=240, floor_y=340)
        return draw_person(xyz, 480, 360)


# A made program of six movements (bundled routines) and a made summary of it, shaped as the
# program contract's summary (common/coach/program.py): the TV's program screens are drawn from these.
SAMPLE_PROGRAM = (
    ({"ko": "팔 들어올리기", "en": "Arm raises"}, "arm_raise", 8),
    ({"ko": "옆구리 늘리기", "en": "Side bends"}, "side_bend", 6),
    ({"ko": "제자리 걷기", "en": "Marching in place"}, "marching", 16),
    ({"ko": "의자 스쿼트", "en": "Chair squats"}, "squat", 5),
    ({"ko": "팔 옆으로 들기", "en": "Lateral raises"}, "lateral_raise", 8),
    ({"ko": "의자에서 일어서기", "en": "Chair stands"}, "chair_stand_30s", None),
)
# Each part's (reps, score or None, rested, skipped): one rested, one skipped, the squat the weakest.
SAMPLE_PARTS = ((8, 88.0, False, False), (6, 74.0, False, False), (0, None, True, False),
                (4, 52.0, False, False), (8, 81.0, False, False), (0, None, False, True))


def sample_program():
    from services.renderer.program import PartShown, ProgramShown

    parts = []
    for name, routine, reps in SAMPLE_PROGRAM:
        loaded = routines.load(routine)
        parts.append(PartShown(name=name, routine=loaded, reps=reps, duration_s=30.0, rest_s=10.0))
    return ProgramShown(name="morning", title={"ko": "아침 실버체조", "en": "Morning exercises"}, parts=tuple(parts))


def sample_program_summary() -> dict:
    """A made summary of SAMPLE_PROGRAM as the contract shapes it (score: the mean of the scored parts')."""
    parts = []
    for i, ((name, routine, _), (reps, score, rested, skipped)) in enumerate(zip(SAMPLE_PROGRAM, SAMPLE_PARTS)):
        parts.append({"part": i, "name": name, "routine": routine, "reps": reps, "reps_by_side": {},
                      "score": score, "scored": score is not None, "rested": rested, "skipped": skipped,
                      "rom": {"left_shoulder": {"min": 10.0, "max": 150.0 - 10 * i, "range": 140.0 - 10 * i}}})
    scored = [p["score"] for p in parts if p["scored"]]
    return {"score": round(sum(scored) / len(scored), 1), "reps": sum(p["reps"] for p in parts), "program": "morning",
            "program_title": {"ko": "아침 실버체조", "en": "Morning exercises"}, "parts": parts, "weakest_part": 3,
            "score_means": "program", "joints": {}, "range_of_motion": {}, "frames": 0, "frames_scored": 0}


# Four members' (reps, score or None, rested, skipped) per part of SAMPLE_PROGRAM, for a class's summary
# after the program: spot 1 the one person's (squats to practise), spot 2 everything at 90 or over
# (nothing to practise), spot 3 side bends the weakest, spot 4 the lateral raises. The staff's skip is
# the whole class's (services/scoring.py), so the last part is skipped for every member.
SAMPLE_CLASS_PARTS = (
    SAMPLE_PARTS,
    ((8, 95.0, False, False), (6, 92.0, False, False), (16, 91.0, False, False), (5, 90.0, False, False),
     (8, 96.0, False, False), (0, None, False, True)),
    ((7, 84.0, False, False), (4, 61.0, False, False), (0, None, True, False), (5, 77.0, False, False),
     (8, 90.0, False, False), (0, None, False, True)),
    ((8, 79.0, False, False), (6, 83.0, False, False), (14, 80.0, False, False), (5, 86.0, False, False),
     (6, 68.0, False, False), (0, None, False, True)),
)


def member_program_summary(results) -> dict:
    """sample_program_summary's shape with each part's (reps, score, rested, skipped) from `results`
    and the weakest judged part named."""
    summary = sample_program_summary()
    for p, (reps, score, rested, skipped) in zip(summary["parts"], results):
        p.update(reps=reps, score=score, scored=score is not None, rested=rested, skipped=skipped)
    scored = [p for p in summary["parts"] if p["scored"]]
    summary.update(score=round(sum(p["score"] for p in scored) / len(scored), 1),
                   reps=sum(p["reps"] for p in summary["parts"]),
                   weakest_part=min(scored, key=lambda p: p["score"])["part"])
    return summary


def class_in_program_part(s, part: int) -> None:
    """`s`, a class (class_state), in part `part` of the sample program, 12 s into it: every member's
    Score and Session say the part; the place, the parts bar and what comes next are the class's."""
    s.program = sample_program()
    s.routine = s.program.parts[part].routine
    at = {"program": "morning", "part": part, "part_t_s": 12.0, "progress": (part * 40 + 12) / s.program.duration_s}
    for k, sc in list(s.people_scores.items()):
        s.people_scores[k] = messages.Score(**{**sc.__dict__, **at, "routine": s.routine.name, "offset_s": 0.0})
    s.class_running = {k: messages.Session(**{**m.__dict__, "program": "morning", "part": part})
                       for k, m in s.class_running.items()}
    s.session, s.score = s.class_running[max(s.class_running)], s.people_scores[max(s.people_scores)]


def in_program_part(s, part: int, now: float, **score) -> None:
    """`s` in part `part` of the sample program, 12 s into it, with the Score's fields `score` changed."""
    s.program = sample_program()
    s.routine = s.program.parts[part].routine
    s.session = messages.Session(**{**s.session.__dict__, "program": "morning", "part": part})
    s.score = messages.Score(**{**s.score.__dict__, "program": "morning", "part": part, "part_t_s": 12.0, "offset_s": 0.0,
                                "routine": s.routine.name, "reps": 3, "score": 76.0,
                                "progress": (part * 40 + 12) / s.program.duration_s, **score})


def state_for(screen: str, locale: str = "ko", now: float | None = None):
    """A ScreenState that shows `screen` at time `now`."""
    from services.renderer.screen import ScreenState
    from services.renderer.text import load_texts

    now = time.monotonic() if now is None else now
    routine = routines.load("arm_raise")
    s = ScreenState(routine=routine, texts={**load_texts(locale), "_locale": locale})
    # The person 2.3 s behind the routine's clock (17.3 s): judged against, and shown the instructor
    # at, 15.0 s, both arms up (screen.instructor_time), so "왼쪽 팔을 더 높이 올리세요" fits what is drawn.
    lag_s = 2.3
    angles = routine.target(17.3 - lag_s)
    angles["left_shoulder"] = 100  # the participant's left arm is too low: "wrong"
    img, kps = participant(angles)
    s.frame = messages.Frame(seq=1, t_capture_ns=0, frame_id=1, width=W, height=H, pixels=img)
    s.frame_at, s.camera_state, s.backend, s.fps = now, "ok", "cpu", 14.8
    s.pose = messages.Pose(seq=1, t_capture_ns=0, frame_id=1, width=W, height=H, model="blazepose-full",
                           backend="cpu", layout="coco17", keypoints=kps)
    s.person_at = s.score_at = now
    start_ns = int((now - 17.3) * 1e9)
    s.session = messages.Session(seq=0, t_capture_ns=0, session_id="demo", event="start", routine=routine.name,
                                 participant="guest", started_unix=0.0, routine_start_ns=start_ns)
    s.session_at = now
    s.timeline = timeline_of(SAMPLE_TIMELINE[:17])
    # The score's strip: its repetitions judged to second 15; the seconds after are not judged yet.
    s.judged_strip, s.judged_strip_session = SAMPLE_TIMELINE[:15], "demo"
    s.score = messages.Score(
        seq=1, t_capture_ns=int(now * 1e9), frame_id=1, session_id="demo", routine=routine.name,
        joint_status={"left_shoulder": "wrong", "right_shoulder": "correct", "left_elbow": "near", "right_elbow": "correct"},
        joint_error_deg={"left_shoulder": -65.0, "left_elbow": -22.0}, verdict="wrong", reps=3, score=72.0,
        progress=0.4, guidance="left_shoulder.more", phase="up", routine_t_s=17.3, offset_s=lag_s)
    if screen == "exercise_video":
        s.footage = DrawnInstructorFootage(routine)
    elif screen == "exercise_side":  # a squat's instructor, drawn turned (the routine is seen from the side)
        s.routine = routines.load("squat")
        s.session = messages.Session(**{**s.session.__dict__, "routine": "squat",
                                        "routine_start_ns": int((now - 3.0) * 1e9)})
        s.score = messages.Score(**{**s.score.__dict__, "routine": "squat", "guidance": "hip.less",
                                    "joint_status": {}, "routine_t_s": 3.0, "offset_s": 0.0})
    elif screen == "exercise_partly":  # a squat whose feet a low, close camera cuts off: knees not seen
        s.routine = routines.load("squat")
        img, kps = participant(s.routine.target(0.0))
        shift = int(H * 0.22)  # the picture moved down: the ankles leave its bottom
        img = np.concatenate([np.full((shift, W, 3), 200, np.uint8), img[:H - shift]])
        s.frame = messages.Frame(seq=1, t_capture_ns=0, frame_id=1, width=W, height=H, pixels=img)
        s.pose = messages.Pose(**{**s.pose.__dict__, "keypoints": [[x, y + shift, c] for x, y, c in kps]})
        s.session = messages.Session(**{**s.session.__dict__, "routine": "squat"})
        s.score = messages.Score(**{**s.score.__dict__, "routine": "squat", "guidance": "frame.step_back", "offset_s": 0.0,
                                    "joint_status": {"left_knee": "none", "right_knee": "none", "left_hip": "correct",
                                                     "right_hip": "correct", "trunk_lean": "near"}})
    elif screen == "exercise_class_program":  # a class of three in a program's third movement
        class_state(s, 3, now)
        class_in_program_part(s, 2)
    elif screen.startswith("exercise_class_"):
        class_state(s, int(screen.rsplit("_", 1)[1]), now)
    elif screen in ("countdown_class", "looking_class"):  # a class of three: getting ready; then nobody following in view
        class_state(s, 3, now)
    elif screen == "summary_class":
        class_state(s, 4, now)
        s.session = messages.Session(seq=9, t_capture_ns=0, session_id="s4", event="end", routine=routine.name,
                                     participant="spot-4", started_unix=0.0, spot=4, class_id="c")
        s.people_results = {k: {"score": sc.score, "reps": sc.reps} for k, sc in s.people_scores.items()}
    elif screen == "summary_class_program":  # a class of four after the sample program: each member movement by movement
        class_state(s, 4, now)
        s.program = sample_program()
        s.people_results = {k: member_program_summary(SAMPLE_CLASS_PARTS[k - 1]) for k in s.people_scores}
        # The last member's end, as scoring sends it: with that member's summary (its parts too).
        s.session = messages.Session(seq=9, t_capture_ns=0, session_id="s4", event="end", routine="program:morning",
                                     participant="spot-4", started_unix=0.0, spot=4, class_id="c", program="morning",
                                     summary=s.people_results[4])
    if screen == "exercise_program":  # the third of six movements, the fourth next
        in_program_part(s, 2, now, joint_status={"left_knee": "correct", "right_knee": "near", "left_hip": "correct"},
                        guidance="", verdict="correct")
    elif screen == "exercise_program_resting":  # the person stopped in a part: told it is all right, not coloured
        in_program_part(s, 1, now, guidance="program.rest_ok", verdict="none")
    elif screen == "looking_program":  # stepped away in a part
        in_program_part(s, 1, now)
        s.person_at = now - 10
    elif screen == "rest":  # after the third movement, 7 s of rest left
        in_program_part(s, 2, now, resting_s=7.0, part_t_s=30.0, joint_status={}, verdict="none", guidance="")
    elif screen == "start_program":
        s.program = sample_program()
        screen = "start"
    elif screen == "summary_program":
        s.program = sample_program()
        s.session = messages.Session(seq=1, t_capture_ns=0, session_id="demo", event="end", routine="program:morning",
                                     participant="guest", started_unix=0.0, summary=sample_program_summary(),
                                     program="morning")
    if screen == "start_class_over":  # a class's routine is over; the next waits for the remote or an empty room
        s.class_over, screen = True, "start_class"
    if screen in ("start_class", "countdown_class", "looking_class"):
        s.a_class = True
        if s.class_running:
            s.session = s.class_running[max(s.class_running)]
        screen = screen.removesuffix("_class")
        if screen == "start":  # before anyone joins: a passer-by is in view (never drawn)
            s.class_running, s.people, s.people_scores = {}, {}, {}
    if screen == "start":
        s.session = s.score = None
        s.pose = s.pose if s.a_class else None  # a class's: someone in view who has not joined (not drawn)
        s.participant, s.participant_names = "kim", {"guest": s.t("start.guest"), "kim": "김영희"}
    elif screen == "setup":
        s.session = s.score = None
        img, kps = participant(routine.target(0.0))
        s.frame = messages.Frame(seq=1, t_capture_ns=0, frame_id=1, width=W, height=H, pixels=img)
        s.pose = messages.Pose(seq=1, t_capture_ns=0, frame_id=1, width=W, height=H, model="m", backend="cpu",
                               layout="coco17", keypoints=[k if i < 13 else [k[0], k[1], 0.0] for i, k in enumerate(kps)])
        # The feet out of view for a while (the screen says a framing problem once it has held).
        from services.renderer.screen import setup_hint

        setup_hint(s, now - 10.0)
    elif screen == "countdown":
        s.session = messages.Session(**{**s.session.__dict__, "routine_start_ns": int((now + 2.5) * 1e9)})
        s.score = messages.Score(**{**s.score.__dict__, "phase": "countdown", "joint_status": {}, "verdict": "none"})
        if s.a_class:  # the members' tags where the countdown's words would go: the words give way to them
            for k, score in s.people_scores.items():
                s.people_scores[k] = messages.Score(**{**score.__dict__, "phase": "countdown", "joint_status": {},
                                                       "verdict": "none", "reps": 0, "guidance": ""})
    elif screen == "looking":
        s.person_at = now - 10
    elif screen == "camera_lost":
        s.camera_state = "lost"
    elif screen == "camera_starting":
        s.frame, s.frame_at, s.camera_state, s.started_at = None, -1e9, "starting", now - 2.0
    elif screen == "summary_too_few_poses":  # a loaded box read the person 4 times a second: no number, said so
        s.session = messages.Session(
            seq=1, t_capture_ns=0, session_id="demo", event="end", routine=routine.name, participant="guest",
            started_unix=0.0, summary={"score": 0.0, "reps": 2, "timeline": SAMPLE_TIMELINE, "poses_per_s": 4.2,
                                       "too_few_poses": True, "joints": {
                                           "left_shoulder": 0.0, "right_shoulder": 0.0, "left_elbow": 0.0, "right_elbow": 0.0}})
    elif screen == "summary_not_exercised":  # someone stood in view and never went through the movement: no score
        s.session = messages.Session(
            seq=1, t_capture_ns=0, session_id="demo", event="end", routine=routine.name, participant="guest",
            started_unix=0.0, summary={"score": 0.0, "reps": 0, "timeline": "-" * len(SAMPLE_TIMELINE),
                                       "exercised": False, "joints": {}})
    elif screen == "summary_side_view":  # squats seen from the front by a 2D model: seen, not measurable, no score
        s.session = messages.Session(
            seq=1, t_capture_ns=0, session_id="demo", event="end", routine=routine.name, participant="guest",
            started_unix=0.0, summary={"score": 0.0, "reps": 0, "timeline": "w" * len(SAMPLE_TIMELINE),
                                       "exercised": False, "seen_not_measured": "front",
                                       "joints": {"left_knee": 0.0, "right_knee": 0.0, "left_hip": 0.0}})
    elif screen == "summary_fall":  # a fall 18 s in, the carer called: the session cut short has no score
        s.session = messages.Session(
            seq=1, t_capture_ns=0, session_id="demo", event="end", routine=routine.name, participant="guest",
            started_unix=0.0, summary={"score": 74.0, "reps": 3, "timeline": SAMPLE_TIMELINE[:18], "fell": True,
                                       "ended": "fall", "alerts": [{"kind": "fall", "unix": 0.0, "answer": "no_answer"}],
                                       "joints": {"left_shoulder": 0.71, "right_shoulder": 0.80, "left_elbow": 0.74,
                                                  "right_elbow": 0.70}})
    elif screen in ("summary", "summary_partly", "summary_long"):
        s.session = messages.Session(
            seq=1, t_capture_ns=0, session_id="demo", event="end", routine=routine.name, participant="guest",
            started_unix=0.0, summary={"score": 86.0, "reps": 7, "timeline": SAMPLE_TIMELINE, "joints": {
                "left_shoulder": 0.93, "right_shoulder": 0.95, "left_elbow": 0.84, "right_elbow": 0.72}})  # score: their mean
        if screen in ("summary_partly", "summary_long"):  # the movement kept leaving the picture: the advice under the words
            s.session.summary["framing"] = {"partly_in_view": 0.32, "head_out": 0.3, "feet_out": 0.0,
                                            "side_out": 0.02, "advice": "view.low_or_close"}
        if screen == "summary_long":  # a dancer's recorded clip: the longest words, the clip replayed, the advice
            s.session.summary.update(score=42.0, video_looped=2, joints={
                "left_shoulder": 0.43, "right_shoulder": 0.45, "left_elbow": 0.44, "right_elbow": 0.36})
    elif screen in ("summary_shallow", "summary_sides"):
        # Squats counted at 64 % of the routine's depth: the depth under the count, the practise line
        # going deeper (scoring.deeper_key); marching counted per leg: each side's count under the total.
        shallow = screen == "summary_shallow"
        s.routine = routine = routines.load("squat" if shallow else "marching")
        summary = {"score": 62.0, "reps": 5, "timeline": SAMPLE_TIMELINE, "weakest": "trunk_lean",
                   "advice": "knee.less", "deeper": "knee.less",
                   "rep_depth": {"share": 0.64, "degrees": 32.0, "target_degrees": 50.0},
                   "joints": {"trunk_lean": 0.57, "left_knee": 0.62, "right_knee": 0.63, "left_hip": 0.64,
                              "right_hip": 0.64}} if shallow else \
            {"score": 88.0, "reps": 18, "reps_by_side": {"left": 9, "right": 9}, "timeline": SAMPLE_TIMELINE,
             "joints": {"left_hip": 0.84, "right_hip": 0.87, "left_knee": 0.90, "right_knee": 0.91}}
        s.session = messages.Session(seq=1, t_capture_ns=0, session_id="demo", event="end", routine=routine.name,
                                     participant="guest", started_unix=0.0, summary=summary)
    elif screen in ("alert", "alert_carer_told"):
        s.alert = messages.Alert(seq=0, t_capture_ns=0, alert_id="a", session_id="demo", kind="fall",
                                 detail="", unix=0.0)
        s.alert_at = now
        s.alert_delivery = "notified" if screen == "alert_carer_told" else ""
    elif screen == "fall_check":  # asked after a suspected fall, 23 of 30 s left to answer
        s.question = messages.Alert(seq=0, t_capture_ns=0, alert_id="q", session_id="demo", kind="fall",
                                    detail="", unix=0.0, stage="asking", countdown_s=30.0)
        s.question_at = now - 7.0
    return s


SCREENS = ("start", "setup", "countdown", "exercise", "exercise_video", "exercise_side", "exercise_partly",
           "exercise_class_2", "exercise_class_3", "exercise_class_4", "looking", "camera_starting", "camera_lost",
           "summary", "summary_partly", "summary_long", "summary_class", "alert", "alert_carer_told", "fall_check",
           "start_program", "exercise_program", "exercise_program_resting", "looking_program", "rest",
           "summary_program", "start_class", "countdown_class", "looking_class", "exercise_class_program",
           "summary_class_program", "start_class_over", "summary_too_few_poses", "summary_not_exercised",
           "summary_side_view", "summary_fall", "summary_shallow", "summary_sides")
# What each sample shows when it is not a screen of its own name (the instructor's video is the
# exercise screen with a routine built from a video; the side figure, with a routine seen from the side;
# a person the camera sees only in part, and the summary saying so (with the longest words, a
# recorded clip that looped: summary_long); a class of 2, 3 or 4 and its
# results; the alert once the central side said a carer was told).
SHOWS = {"exercise_video": "exercise", "exercise_side": "exercise", "exercise_partly": "exercise",
         "exercise_class_2": "exercise", "exercise_class_3": "exercise", "exercise_class_4": "exercise",
         "summary_partly": "summary", "summary_long": "summary", "summary_class": "summary", "alert_carer_told": "alert",
         # A program: its start, a movement with the next named, a person resting or away in one, its summary.
         "start_program": "start", "exercise_program": "exercise", "exercise_program_resting": "exercise",
         "looking_program": "looking", "summary_program": "summary",
         # A class: how to join and who has (nobody yet); getting ready with the members' tags clear of
         # the countdown; no member following in view.
         "start_class": "start", "countdown_class": "countdown", "looking_class": "looking",
         # A class through a program: the movement, its place and the next once; each member's count on their tag.
         "exercise_class_program": "exercise",
         # A class after a program: each member's score, and reps and score per movement, the one to practise framed.
         "summary_class_program": "summary",
         # A class whose routine is over, people still exercising: how the next one starts.
         "start_class_over": "start",
         # A session a loaded box read too sparsely to score: no score and why, not a big 0.
         "summary_too_few_poses": "summary",
         # Nobody went through the movement; a fall cut the session short: no score, in words (a big "-"
         # is a few pixels of ink, unreadable from the sofa).
         "summary_not_exercised": "summary", "summary_fall": "summary",
         # Seen, but a squat's depth is not measurable from the front by a 2D model: no score, stand side on.
         "summary_side_view": "summary",
         # Shallow squats: how deep against the target, and going deeper to practise; marching's count per leg.
         "summary_shallow": "summary", "summary_sides": "summary"}
