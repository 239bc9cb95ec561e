"""`silvergym demo` (what `make demo` runs): one complete short session on this box.

Camera if present, else --video, else a recorded participant through the whole graph: a real
person (media/demo/squats_5reps.mp4, 5 squats, the one clip the repository ships; NOTICE there)
against a routine built from the same clip. The participant is not a copy of the instructor: the
demo makes its clip from the real frames played slower, as a senior moves, with one squat stopped
halfway down, so the TV has something to coach. With --routine NAME, a clip of a drawn person
doing that routine, which the demo writes itself.
--simulate: the simulated participant (no pose model). The renderer on the screen if there is
one, else headless with PNG snapshots; a private Mosquitto for the uplink (spooled if mosquitto
is missing). Prints a short summary: score, repetitions, where it went, where the snapshots are.
"""
from __future__ import annotations

import json
import logging
import sys
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from common import config as configuration
from common.bus.service import setup_logging
from common.cli.supervisor import Supervisor, install_signal_handlers
from common.media import first_camera
from common.mosquitto import BrokerError, LocalBroker
from common.program_results import score_withheld
from common.coach import MIN_POSES_PER_S

log = logging.getLogger("demo")


def watch_sessions(port: int, received: list, arrived: threading.Event) -> mqtt.Client:
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="silvergym-demo-watch")

    def on_message(_c, _u, message):
        received.append(json.loads(message.payload))
        arrived.set()

    client.on_message = on_message
    client.on_connect = lambda c, *_: c.subscribe("silvergym/v1/+/+/session", qos=1)
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client


REAL_CLIP = "squats_5reps.mp4"  # a man doing 5 full squats (Apache-2.0, media/demo/NOTICE)
DEMO_MEDIA = Path(__file__).resolve().parents[2] / "media" / "demo"
SENIOR_SPEED = 0.7  # the participant moves at this share of the instructor's pace
LEAN_DEG = 25.0  # ... and leans this far to one side (the upper body, about the hips) through LEANING_REPS
LEANING_REPS = (2, 3)  # the squats done leaning (1-based)


def real_clip() -> Path | None:
    """The real person's clip: the one the repository ships, else ../shared/media's."""
    from common.media import shared_dir

    for clip in (DEMO_MEDIA / REAL_CLIP, shared_dir() / "media" / REAL_CLIP):
        if clip.is_file():
            return clip
    return None


def first_repetition_end(knee: list) -> int | None:
    """The keyframe where the clip's first squat is over: the most upright moment between its
    first two bottoms (None with fewer than two)."""
    bottoms = [i for i in range(1, len(knee) - 1) if None not in knee[i - 1:i + 2]
               and knee[i] <= min(knee[i - 1], knee[i + 1]) and knee[i] < 110.0]
    if len(bottoms) < 2:
        return None
    between = [i for i in range(bottoms[0], bottoms[1]) if knee[i] is not None]
    return max(between, key=lambda i: knee[i])


def routine_from_clip(clip: Path, out: Path, model: str) -> tuple[Path, Path]:
    """The instructor's routine built from the clip, as `silvergym routine build --title` does:
    with the clip as the instructor's video on the TV. Returns the routine built from the whole
    clip (where its squats are, for coached_participant) and the one the session follows: the
    same, cut to the clip's first squat, so that its cycle is one repetition."""
    from common.cli.routine import TvCopy, _video_format, build_from_video, write_routine
    from common.coach import cues
    from common.media import read_frames

    import dataclasses

    title = {"ko": "스쿼트", "en": "Squats"}
    whole = build_from_video(str(clip), "squats_from_clip", model, out, title=title)
    whole_path = out / "squats_whole_clip.json"
    write_routine(whole, whole_path)
    # The running score judges whole cycles of a looping routine: built from all five squats, the
    # cycle was the whole clip and the TV showed '점수 -' until the session's end. Cut to one
    # squat (its poses and its stretch of the video), each squat is judged as it ends, at the
    # person's own pace; which joints are scored and the count's thresholds stay the whole clip's.
    joint = whole.reps.joints[0] if whole.reps else "right_knee"
    end = first_repetition_end([k.angles.get(joint) for k in whole.keyframes])
    one = whole
    if end is not None and end < len(whole.keyframes) - 1:
        fps, _ = _video_format(str(clip))
        copy = TvCopy(out / "videos", fps)
        try:
            for n, (_, _, bgr) in enumerate(read_frames(str(clip))):
                if n < end:  # frames 0..end-1: the video loops with the cycle (keyframe `end` is frame 0 again)
                    copy.add(bgr)
            video = copy.finish()
        finally:
            copy.discard()
        one = dataclasses.replace(whole, keyframes=whole.keyframes[:end + 1], video=video)
    # A squat: its corrections in a squat's words (docs/routines.md, cue table). An exercise, not a
    # choreography: it loops, scored per repetition at the person's pace (docs/scoring.md), and lasts
    # as long as the participant's slower performance of the whole clip, so all their squats are in
    # the session.
    # Its scored joints are a squat's (knees, hips, trunk): the instructor's arms swing forward as
    # he squats, and a senior told "왼쪽 팔꿈치를 더 굽히세요" mid-squat is told something no
    # physiotherapist would say.
    path = out / "squats_from_clip.json"
    write_routine(dataclasses.replace(one, movement="squat", loop=True, joints=cues.coached_joints("squat", one.joints),
                                      duration_s=round(whole.duration_s / SENIOR_SPEED + 1.0, 1)), path)
    return whole_path, path


def coached_participant(clip: Path, routine_path: Path, out: Path) -> tuple[Path, str]:
    """The participant's clip, made from the instructor's real frames: played at SENIOR_SPEED,
    and through squats LEANING_REPS leaning LEAN_DEG to one side (those frames turned about the
    person's hips), a fault the TV should catch whatever the timing: the time warping that
    forgives a slower pace finds no moment of the instructor's that leans. Where the squats
    are comes from the knee angles of the routine built from the same clip. Returns the clip
    and what it does differently, in words."""
    import cv2
    import numpy as np

    from common.cli.routine import _video_format
    from common.coach import routine as routines
    from common.media import read_frames

    frames = [bgr for _, _, bgr in read_frames(str(clip))]
    r = routines.load(str(routine_path))
    joint = r.reps.joints[0] if r.reps else "right_knee"
    knee = [k.angles.get(joint) for k in r.keyframes][:len(frames)]
    standing = [i for i, a in enumerate(knee) if a is not None and a >= 150.0]
    # A squat: from the last standing frame before a bottom to the first standing frame after it.
    bottoms = [i for i in range(1, len(knee) - 1) if None not in knee[i - 1:i + 2]
               and knee[i] <= min(knee[i - 1], knee[i + 1]) and knee[i] < 110.0]
    # The speed of his video, not a pace against the routine: the routine loops his first squat
    # (1.5 s, standing included), slower than his average (5 in 5.6 s), so at 0.7x speed he is at
    # about 0.9x the routine's pace, as the pace line (the report's words) says.
    what = f"the same person, his video played at {SENIOR_SPEED:.1f}x speed"
    reps = [bottoms[n - 1] for n in LEANING_REPS if n <= len(bottoms)]
    if reps and standing:
        first = max((i for i in standing if i < reps[0]), default=0)
        last = min((i for i in standing if i > reps[-1]), default=len(frames) - 1)
        keyframes = [r.keyframes[min(i, len(r.keyframes) - 1)] for i in range(len(frames))]
        # The person's own outline in each frame (the pose model's segmentation), where it has one;
        # else the limbs drawn thick around the routine's keypoints.
        people = [person if person is not None else body_mask(kf, frames[0].shape, UPPER_BODY + LEGS) > 0
                  for person, kf in zip(person_outlines(frames, _video_format(str(clip))[0]), keyframes)]
        plate = empty_room(frames, [cv2.dilate(p.astype(np.uint8) * 255, np.ones((5, 5), np.uint8)) for p in people])
        for i in range(first, last + 1):
            frames[i] = leaning(frames[i], people[i], keyframes[i], plate)
        what += (f", leaning {LEAN_DEG:.0f}° to one side through squats "
                 f"{' and '.join(str(n) for n in LEANING_REPS[:len(reps)])}")
    fps, _ = _video_format(str(clip))
    path = out / "participant.mp4"
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    try:
        for k in range(int(len(frames) / SENIOR_SPEED)):
            writer.write(frames[min(int(k * SENIOR_SPEED), len(frames) - 1)])
    finally:
        writer.release()
    return path, what


UPPER_BODY = (("left_shoulder", "right_shoulder"), ("neck", "mid_hip"), ("left_shoulder", "left_hip"),
              ("right_shoulder", "right_hip"), ("left_hip", "right_hip"), ("left_shoulder", "left_elbow"),
              ("left_elbow", "left_wrist"), ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"),
              ("neck", "nose"))
LEGS = (("left_hip", "left_knee"), ("left_knee", "left_ankle"), ("right_hip", "right_knee"),
        ("right_knee", "right_ankle"))


def body_mask(keyframe, shape, limbs) -> "np.ndarray":
    """Where the person's `limbs` (and head) are in the clip's frame, from the routine's reference
    keypoints (body heights around the mid-hip, placed by the keyframe's anchor): thick limbs, the
    trunk filled, a head, grown a little for clothes and hair (uint8 0/255)."""
    import cv2
    import numpy as np

    from common.coach.keypoints import COMMON_INDEX

    height, width = shape[:2]
    mask = np.zeros((height, width), np.uint8)
    if not (keyframe.keypoints and keyframe.anchor):
        return mask
    hip_x, hip_y, body = keyframe.anchor
    points = {name: (hip_x * width + p[0] * body * height, hip_y * height + p[1] * body * height)
              for name, i in COMMON_INDEX.items()
              if (p := keyframe.keypoints[i]) is not None and p[2] >= 0.3}
    thick = max(3, int(0.15 * body * height))
    for a, b in limbs:
        if a in points and b in points:
            cv2.line(mask, tuple(int(v) for v in points[a]), tuple(int(v) for v in points[b]), 255, thick)
    if "nose" in points:
        cv2.circle(mask, tuple(int(v) for v in points["nose"]), int(0.12 * body * height), 255, -1)
    # The trunk filled between shoulders and hips; the outline grown a little (clothes, hair).
    quad = [points[n] for n in ("left_shoulder", "right_shoulder", "right_hip", "left_hip") if n in points]
    if len(quad) == 4:
        cv2.fillConvexPoly(mask, np.array(quad, np.int32), 255)
    return cv2.dilate(mask, np.ones((thick // 2 * 2 + 1,) * 2, np.uint8), iterations=2)


def empty_room(frames: list, masks: list) -> "np.ndarray":
    """The room without the person: each pixel's median over the frames where the person does not
    cover it; where they always do, filled in from around (inpainting)."""
    import warnings

    import cv2
    import numpy as np

    stack = np.stack(frames).astype(np.float32)
    covered = np.stack(masks)[..., None] > 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-covered pixel's median is NaN: inpainted below
        plate = np.nanmedian(np.where(covered, np.nan, stack), axis=0)
    always = np.isnan(plate).any(axis=2)
    plate = np.nan_to_num(plate).astype(np.uint8)
    return cv2.inpaint(plate, always.astype(np.uint8) * 255, 5, cv2.INPAINT_TELEA) if always.any() else plate


def person_outlines(frames: list, fps: float) -> list:
    """Each frame's person as BlazePose outlines them (models/blazepose.py person_mask: the landmark
    model's segmentation), a bool mask, or None where it found nobody. The demo's lean moves these
    pixels only: a patch around keypoints carried the room behind with it (a piece of the pull-up
    bar turned with the man) and left the hat of the upright head behind (a ghost head)."""
    from common.cli.pose import open_estimator

    estimator = open_estimator("blazepose-full").active
    out = []
    for i, bgr in enumerate(frames):
        estimator.estimate(bgr, i / fps)
        person = estimator.person_mask(bgr)
        out.append(None if person is None else person > 0.5)
    return out


def leaning(frame, person, keyframe, plate) -> "np.ndarray":
    """The frame with the person's upper body turned LEAN_DEG about their hips over the same room:
    the person's own pixels above the hips (`person`, their outline) are replaced by the empty room,
    and the same pixels, turned, laid over it with a soft edge. Legs, floor, background and logo
    stay where they are; nothing but the person moves."""
    import cv2
    import numpy as np

    height, width = frame.shape[:2]
    hips = (keyframe.anchor[0] * width, keyframe.anchor[1] * height) if keyframe.anchor else (width / 2, height / 2)
    # Only what is above the hips turns: below them the legs stay planted.
    upper = person.astype(np.uint8) * 255
    upper[int(hips[1]) + 1:] = 0
    turn = cv2.getRotationMatrix2D((float(hips[0]), float(hips[1])), LEAN_DEG, 1.0)
    turned = cv2.warpAffine(frame, turn, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    turned_mask = cv2.warpAffine(upper, turn, (width, height), flags=cv2.INTER_LINEAR)
    # The upright body is taken out with a pixel or two of margin (its outline's soft edge, the
    # clip's compression halo), so that no rim of it stays as a ghost beside the turned one.
    gone = cv2.dilate(upper, np.ones((5, 5), np.uint8), iterations=1)
    soft = lambda m: cv2.GaussianBlur(m, (0, 0), 1.0).astype(np.float32)[..., None] / 255.0  # noqa: E731
    out = frame.astype(np.float32) * (1 - soft(gone)) + plate.astype(np.float32) * soft(gone)
    alpha = soft(turned_mask)
    out = out * (1 - alpha) + turned.astype(np.float32) * alpha
    return np.clip(out, 0, 255).astype(np.uint8)


class CueListener:
    """The corrections the TV shows, heard on the bus: every distinct Score.guidance, in order;
    the running score the TV shows through each counted repetition (the last Score of each
    count: its number, or '-' while nothing is judged); and how many Scores the TV praised in
    green ("잘하고 있어요!": a green verdict with no words), so that praise can be held against
    the count and the summary."""

    def __init__(self, cfg):
        import zmq

        from common.bus.sockets import Subscriber

        self.cues: list[str] = []
        self.running: dict[int, str] = {}
        self.praised = 0
        self._ctx = zmq.Context()
        self._sub = Subscriber(self._ctx, cfg.bus.all_endpoints(), ["score"])
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, name="cues", daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        while not self._stop.is_set():
            for msg in self._sub.receive(timeout_ms=200):
                if msg.part < 0:  # a single routine's session (a program's parts have their own counts)
                    self.running[msg.reps] = f"{msg.score:.0f}" if msg.scored else "-"
                    self.praised += msg.verdict == "correct" and not msg.guidance  # screen.py: exercise.good
                if msg.guidance and msg.guidance not in self.cues:
                    self.cues.append(msg.guidance)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sub.close()
        self._ctx.destroy(linger=0)


def pace_line(timing: dict) -> str:
    """The session's pace in the English report's words (common/pace.py): an estimate, in step
    within half a second, ahead or behind by the lag's size, never "-0.1 s behind"."""
    from common.pace import pace_words
    from common.texts import load_texts

    return "Pace: " + pace_words(timing, load_texts("en"))


def session_words(msg, routine: str, cfg) -> str:
    """Whose session and of what, in the line's English: the place of a class's member ("spot 1",
    "spot 2, 김영희", as run --once and score say it) or the participant's name, and the routine's title ("Arm
    raises"), never the keys "spot-1" and "arm_raise" (a fresh-eyes trial saw "Session of spot-1
    (arm_raise)")."""
    from common.cli.supervisor import member_label
    from common.coach import routine as routines

    if msg.spot:
        who = member_label(msg.spot, msg.participant, cfg)
    else:
        known = cfg.participants.get(msg.participant)
        who = known.name if known is not None and known.name else msg.participant
    title: dict = {}
    for name in (msg.routine, routine):  # the session's own (a seated variant), else the demo's (a built file)
        try:
            title = routines.load(name).title
            break
        except routines.RoutineError:
            continue
    return f"{who} ({title.get('en') or msg.routine})"


def fall_called(summary: dict) -> str:
    """'called' when the summary holds a fall alert (the carer was called in the session), else ''."""
    alerts = summary.get("alerts")
    return "called" if isinstance(alerts, list) and any(
        isinstance(a, dict) and a.get("kind") == "fall" for a in alerts) else ""


def result_words(summary: dict) -> str:
    """A session's result as the demo prints it, by the TV's rule for showing a score
    (common/program_results.py score_withheld): the score and count, or no score and why (the TV
    showed "점수 없음" for a session read too sparsely while this line printed "score 80, 121
    repetitions")."""
    frames = f"{summary.get('frames_scored', 0)} of {summary.get('frames', 0)} frames scored"
    withheld = score_withheld(summary, fall_called(summary))
    if withheld == "unread":
        rate = summary.get("poses_per_s")
        seen = f"{float(rate):.0f} pictures a second" if isinstance(rate, (int, float)) else "too few pictures"
        return f"no score (read too sparsely: {seen}, coaching needs {MIN_POSES_PER_S:.0f}), {frames}"
    if withheld == "fall":
        return f"no score (a fall in the session: its figures measure the fall), {frames}"
    if withheld == "side_view":
        return (f"no score (the movement was seen, but its depth cannot be measured from the front: stand side on "
                f"to the camera), {frames}")
    if withheld == "idle":
        return f"no score (nobody went through the movement), {frames}"
    return f"score {summary.get('score', 0):.0f}/100, {summary.get('reps', 0)} repetitions, {frames}"


def program_lines(participant: str, summary: dict) -> list[str]:
    """A program's result as the demo prints it: the program by name and its score, then one line
    per movement: repetitions of the target (as the TV counts them: each side's lift of an
    alternating movement is one, per side in brackets), its score, or that it was rested/skipped."""
    from common.texts import load_texts

    ko = load_texts("ko")
    title = summary.get("program_title") or {}
    score = f"score {summary['score']:.0f}/100" if summary.get("scored_parts") else "no score (nothing judged)"
    lines = [f"Program {title.get('ko', '')} / {title.get('en', '')} ({summary.get('program', '')}) of {participant}: "
             f"{score} ({summary.get('scored_parts', 0)} of {len(summary['parts'])} movements scored"
             f"{', the others left out of it' if summary.get('scored_parts') and summary['scored_parts'] < len(summary['parts']) else ''}), "
             f"{summary.get('frames_scored', 0)} of {summary.get('frames', 0)} frames scored"]
    for part in summary["parts"]:
        reps = f"{part['reps']}" + (f"/{part['target_reps']}" if part.get("target_reps") else "") + " repetitions"
        if part.get("timed") and not part["reps"]:
            reps = "timed (nothing to count)"  # a dance, a stretch held: no repetitions, never "0"
        sides = part.get("reps_by_side") or {}
        if sides:
            reps += " (" + ", ".join(f"{side} {n}" for side, n in sides.items()) + ")"
        state = (f"{ko['program.skipped']} (skipped)" if part["skipped"] else f"{ko['program.rested']} (rested)"
                 if part["rested"] else f"score {part['score']:.0f}/100" if part["scored"]
                 else "not done: no repetitions, no score (left out of the program score)"
                 if part.get("not_scored") == "no_repetitions" else "no score (nothing judged)")
        lines.append(f"  {part['part'] + 1}. {part['name']['ko']} / {part['name']['en']}: {reps}, {state}")
    return lines


def program_person_clip(program, out: Path, size=(480, 360), fps: float = 10.0) -> Path:
    """A clip of the drawn person going through a program: each part's routine for its time, and
    standing at the start position through each rest (common/coach/synthetic.py draws them)."""
    import cv2

    from common.coach.synthetic import write_person_clip

    path = out / "program_person.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    try:
        for i, ((start, end, rest_end), part) in enumerate(zip(program.schedule(), program.parts)):
            piece = write_person_clip(out / f"program_part{i}.mp4", part.routine, seconds=end - start, fps=fps,
                                      size=size)
            cap = cv2.VideoCapture(str(piece))
            first = None
            while (got := cap.read())[0]:
                first = got[1] if first is None else first
                writer.write(got[1])
            cap.release()
            piece.unlink(missing_ok=True)
            for _ in range(int(round((rest_end - end) * fps))):  # the rest: standing as the part began
                writer.write(first)
    finally:
        writer.release()
    return path


def run(args) -> int:
    setup_logging("demo")
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    recorded = not args.video and not args.simulate and first_camera() is None
    # The real person's clip goes with the routine built from it, not with a routine chosen.
    chosen = args.routine is not None or bool(getattr(args, "program", None))
    person = real_clip() if recorded and not chosen else None
    whole_routine = None  # the routine built from the whole clip: where its squats are
    if args.routine is None:
        args.routine = "squat"
        if person:
            from models.catalog import ModelError
            try:
                model = configuration.load(args.config, args.overrides).inference.model
                whole_routine, one_squat = routine_from_clip(person, out, model)
                args.routine = str(one_squat)
            except (ModelError, configuration.ConfigError) as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
    overrides: dict = {
        # Snapshots fall on different moments of the movement, not all on the same pose: 3.7 s into
        # a routine's 5 s cycle; the real person's squats take a second each, so every 0.9 s.
        "renderer": {"snapshot_dir": str(out / "screens"), "snapshot_every_s": 0.9 if person else 3.7},
        "uplink": {"spool_path": str(out / "spool.db"), "site": "demo", "device": "demo-pi"},
        "scoring": {"routine": args.routine, "start_delay_s": 3.0},
        "bus": {"runtime_dir": str(out / "run")},
    }
    if getattr(args, "program", None):  # a program of several movements ([program], docs/programs.md)
        overrides["scoring"]["program"] = args.program
    if args.video and getattr(args, "program", None):
        # A participant's recording through the program: it starts with the program's first part, as
        # `program score` reads it, and plays once (was looped from the demo's start: 3.9 s early, and
        # again from its start when it ended).
        overrides["camera"] = {"source": args.video, "loop": False, "start_with_session": True}
    elif args.video:
        overrides["camera"] = {"source": args.video, "loop": True}
    elif args.simulate:
        overrides["camera"] = {"source": "sim"}
    # Everything that can be wrong with the config or the inputs is said before the private broker
    # starts (a bad config used to leave it running) and before waiting for a session.
    from common.cli import startup_problem

    overrides = configuration.merge(overrides, args.overrides)  # the user's --set wins
    problem = startup_problem(configuration.load(args.config, overrides))
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    coached = ""
    if recorded:
        # No camera: the whole graph still runs, the real pose model included, on a recorded
        # participant whose clip starts with the routine.
        if person:
            clip, coached = coached_participant(person, whole_routine, out)
            who = f"a real person ({person.name}): {coached}"
        elif getattr(args, "program", None):
            from common.coach import program as programs

            program = programs.load(args.program)  # known good: startup_problem loaded it
            clip = program_person_clip(program, out)
            who = f"a drawn person going through the program {program.name} ({len(program.parts)} parts)"
        else:
            from common.coach import routine as routines
            from common.coach.synthetic import write_person_clip

            routine = routines.load(args.routine)  # known good: startup_problem loaded it
            clip = write_person_clip(out / "person.mp4", routine, seconds=min(routine.duration_s, 20.0), size=(480, 360))
            who = f"a drawn person doing {args.routine}" + ("" if chosen else f" (../shared/media/{REAL_CLIP} is absent)")
        overrides["camera"] = {"source": str(clip), "loop": True, "start_with_session": True}
        log.info("no camera: the pose model watches %s, %s", clip, who)
    broker, watcher = None, None
    received: list = []
    arrived = threading.Event()
    try:
        broker = LocalBroker(workdir=str(out / "broker")).start()
        overrides["uplink"]["port"] = broker.port
        watcher = watch_sessions(broker.port, received, arrived)
        log.info("private Mosquitto on 127.0.0.1:%d", broker.port)
    except BrokerError as exc:
        log.warning("%s; the session summary stays in the spool %s", exc, out / "spool.db")
    cfg = configuration.load(args.config, overrides)
    from common.cli import demo_services  # the same camera/simulator choice as `silvergym run`

    names = demo_services(cfg)
    summaries: list = []

    def on_end(msg) -> bool:
        summaries.append(msg)
        ended_unix = time.time()

        def wait_then_stop():
            arrived.wait(timeout=20.0 if broker else 0.0)
            # The TV's summary is what the staff member looks for in the snapshots: wait for it to be
            # drawn, as `run --once --snapshots` does (a program's demo stopped on its last exercise
            # screen: the MQTT record arrived before the renderer had drawn the summary).
            from common.cli.once import SUMMARY_SHOWN_S, summary_drawn

            # Only where the TV writes snapshots (headless; a TV on a screen writes none).
            screens, until = Path(cfg.renderer.snapshot_dir or out / "screens"), time.monotonic() + SUMMARY_SHOWN_S
            if not screens.is_dir() or not any(screens.glob("*.png")):
                sup.stop.set()
                return
            while not summary_drawn(screens, after=ended_unix - 1.0) and time.monotonic() < until:
                if sup.stop.wait(0.2):
                    break
            if not summary_drawn(screens, after=ended_unix - 1.0):
                log.warning("the TV's summary was not drawn in %s within %.0f s", screens, SUMMARY_SHOWN_S)
            sup.stop.set()

        threading.Thread(target=wait_then_stop, daemon=True).start()
        return False

    sup = Supervisor(cfg, names, args.config, overrides, on_session_end=on_end)
    cues = CueListener(cfg)
    install_signal_handlers(sup.stop)
    limit = threading.Timer(args.seconds, sup.stop.set)
    limit.daemon = True
    limit.start()
    try:
        code = sup.run()
    finally:
        limit.cancel()
        cues.close()
        if watcher is not None:
            watcher.loop_stop()
            watcher.disconnect()
        if broker is not None:
            broker.stop()
    if not summaries:
        code = code or 1  # what the demo returns, said as such (it said "exit 0" and returned 1)
        print(f"demo: no session finished within {args.seconds:.0f} s (exit {code})")
        return code
    msg = summaries[-1]
    summary = msg.summary
    delivered = any(r.get("session_id") == msg.session_id for r in received)
    timing = summary.get("timing") or {}
    print()
    if summary.get("parts"):  # a program: its name, then each movement's own result
        for line in program_lines(msg.participant, summary):
            print(line)
    else:  # a class: each member's line by spot, as run --once and score print a class (not the last alone)
        members = {m.spot: m for m in summaries if m.class_id and m.class_id == msg.class_id} or {0: msg}
        for member in (members[k] for k in sorted(members)):
            print(f"Session of {session_words(member, args.routine, cfg)}: {result_words(member.summary)}")
    if timing:
        print(pace_line(timing))
    if coached:
        print(f"Coached: {coached}")
    if cues.running and not summary.get("parts"):
        print("Running score on the TV through each repetition: "
              + ", ".join(f"{n}: {shown}" for n, shown in sorted(cues.running.items()) if n > 0))
    if not summary.get("parts") and not score_withheld(summary, fall_called(summary)):
        print(f"Praised in green on the TV: {cues.praised} frames")
        from common.coach import cues as cue_table
        from common.coach import routine as routines

        if practise := cue_table.to_practise(summary):  # as the TV's summary names it (screen.summary_words)
            weakest = summary["weakest"]
            print(f"To practise (the summary's words): {cue_table.words(routines.load(args.routine), practise, cfg.renderer.locale) or practise} "
                  f"({weakest} in position {float(summary['joints'][weakest]):.0%} of the judged time)")
    if cues.cues and not summary.get("parts"):  # a program's corrections are in each part's summary
        from common.coach import cues as cue_table
        from common.coach import routine as routines
        from common.texts import load_texts

        words = load_texts(cfg.renderer.locale)
        shown = routines.load(args.routine)
        print("Corrections the TV gave: " + "; ".join(dict.fromkeys(  # each wording once (two keys may share it)
            cue_table.words(shown, key, cfg.renderer.locale) or words.get(key, key) for key in cues.cues)))
    print("Delivered to the demo's MQTT broker" if delivered else f"Kept in the spool {out / 'spool.db'} (no broker)")
    print(f"Screenshots of the TV: {out / 'screens'}")
    return code
