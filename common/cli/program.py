"""`silvergym program build VIDEO --out FILE [--preview SHEET.png]`, `program check FILE` and
`program list`.

build reads the instructor's pose track of a long video once (a cache beside nothing: the poses
are the model's), finds the movements in it (common/coach/segment.py), and writes the program
file with one routine file per movement beside it (`<program>_partN.json`, built from that stretch
of the video as `silvergym routine build` builds one, its video copy in videos/), repeats of one
movement pointing back with `same_as`. The installer corrects cut points and names in the file;
`program check` says whether it still holds together.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import sys
from pathlib import Path

import numpy as np

from common.coach import program as programs
from common.coach import routine as routines

log = logging.getLogger("program")


def check(path: str) -> int:
    try:
        p = programs.load(path)
    except programs.ProgramError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{p.name}: {p.title.get('ko', '')} / {p.title.get('en', '')}, {len(p.parts)} parts, "
          f"{p.duration_s:.0f} s" + (f", video {p.video}" if p.video else ""))
    for i, (part, (start, end, _)) in enumerate(zip(p.parts, p.schedule())):
        where = f" video {part.start_s:.1f}-{part.end_s:.1f} s" if part.start_s is not None else ""
        again = f" (same movement as part {part.same_as + 1})" if part.same_as is not None else ""
        print(f"  {i + 1}. {part.name['ko']} / {part.name['en']}: {part.routine.name}, {start:.0f}-{end:.0f} s"
              f"{where}, reps {part.reps or '-'}, rest {part.rest_s:g} s{again}")
    if p.video is not None and not p.video.is_file():
        print(f"error: {p.source}: video {p.video} does not exist; fix the path in the file", file=sys.stderr)
        return 2
    video_s = programs.video_seconds(p.video) if p.video is not None else None
    problem = programs.stretch_problem(p, video_s) if video_s is not None else ""
    if problem:
        print(f"error: {p.source}: {problem}", file=sys.stderr)
        return 2
    return 0


def list_programs() -> int:
    for name in programs.bundled():
        p = programs.load(name)
        print(f"{padded(name)} {p.title['ko']} / {p.title['en']}  ({len(p.parts)} parts, {p.duration_s:.0f} s)")
    folder = programs.store_dir()
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        if is_routine_file(path):  # a part's routine (`<program>_partN.json`), counted in its program's line
            continue
        try:
            p = programs.load(str(path))
            print(f"{padded(path.stem)} {p.title['ko']} / {p.title['en']}  ({len(p.parts)} parts, {p.duration_s:.0f} s)  {path}")
        except programs.ProgramError as exc:
            print(f"{padded(path.stem)} unreadable: {exc}; fix it or remove the file")
    return 0


def padded(name: str, width: int = 20) -> str:
    """`name` padded to `width` columns of a terminal, where a Hangul syllable takes two: the
    Korean-named programs line up with the others."""
    import unicodedata

    used = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in name)
    return name + " " * max(0, width - used)


def is_routine_file(path: Path) -> bool:
    """Whether a .json in the program store is a movement's routine (build writes each part's
    beside its program), not a program: it has the routine's keyframes and no parts."""
    try:
        data = routines.read_json(path)
    except routines.RoutineError:
        return False  # unreadable: listed as such, whatever it was meant to be
    return isinstance(data, dict) and "keyframes" in data and "parts" not in data


def build_program(video: str, out: Path, model: str = "", cache: str = "", poses_cache: str = "",
                  preview: str = "", mirror: bool = False, locale: str = "ko") -> programs.Program:
    """The program of an instructor's long video, written to `out` with its parts' routines."""
    from common.cli.routine import TvCopy, _video_format, build, poses_from_video, write_routine
    from common.coach import segment
    from common.coach.scoring import view_stable
    from common.media import read_frames

    name = out.stem.replace(" ", "_").lower()
    if not _valid_name(name):  # said before the poses are read (a minute), not named "program" quietly
        raise programs.ProgramError(
            f"--out {out.name}: {name!r} cannot be a program's name ({programs.NAME_WORDS}); give --out NAME.json "
            "with such a name, e.g. --out 아침_실버체조.json or --out morning.json")
    fps_header, size = _video_format(video)
    # A small grey copy of each picture: where a new shot begins is read from the pictures (segment.shot_changes).
    pictures: list = []
    if poses_cache and Path(poses_cache).is_file():
        cached = np.load(poses_cache, allow_pickle=True).item()
        poses, worlds, fps = list(cached["poses"]), list(cached["worlds"]), float(cached["fps"])
        pictures = [segment.picture(bgr) for _, _, bgr in read_frames(video)]
    else:
        poses, worlds, fps = poses_from_video(video, model, cache, each_frame=lambda bgr: pictures.append(segment.picture(bgr)))
        if poses_cache:
            np.save(poses_cache, {"poses": np.asarray(poses), "worlds": worlds, "fps": fps}, allow_pickle=True)
    if len(pictures) != len(poses):
        print(f"note: --poses-cache {poses_cache} holds {len(poses)} frames' poses, the video {len(pictures)} frames: "
              "new shots are found from the poses alone; remove the cache file to read the video again", file=sys.stderr)
    dropped: list = []
    found = segment.find_movements(poses, worlds, fps, dropped, np.asarray(pictures) if len(pictures) == len(poses) else None)
    for a, b in dropped:  # said, not lost silently: the installer may add it to the file by hand
        print(f"note: {a:.1f}-{b:.1f} s ({b - a:.1f} s of movement) left out: shorter than {segment.MIN_PART_S:g} s, "
              "too short to be a part (a movement shown briefly, or a change between two); if it is one, add a "
              "part with its start_s and end_s to the file", file=sys.stderr)
    if not found:
        raise routines.RoutineError(f"{video}: no repeated movement found (a person moving in repetitions, "
                                    "seen whole, for at least a few seconds)")
    folder = out.resolve().parent
    # One decode for every part's TV copy: each frame goes to the copy of the part it falls in.
    copies = [TvCopy(folder / "videos", fps_header) for _ in found]
    for k, copy in enumerate(copies):  # written side by side: each its own partial file
        copy.partial = copy.partial.with_name(f"{copy.partial.stem}-{k}{copy.partial.suffix}")
    bounds = [(int(round(m.first_s * fps)), int(round(m.end_s * fps))) for m in found]
    try:
        for i, (_, _, bgr) in enumerate(read_frames(video)):
            for copy, (a, b) in zip(copies, bounds):
                if a <= i < b:
                    copy.add(bgr)
        parts, counted = [], []  # counted: whether each part's routine has a repetition rule
        for k, (m, (a, b), copy) in enumerate(zip(found, bounds, copies)):
            part_name = f"{name}_part{k + 1}"
            first = int(round(m.first_s * fps))  # from its first repetition's start position
            r = build(part_name, poses[first:b], worlds[first:b], fps, Path(video).name, size)
            rule = routines.RepRule(**{**m.rule, "joints": tuple(m.rule["joints"])}) if m.rule else None
            r = dataclasses.replace(r, mirror=mirror or r.mirror, video=copy.finish())
            r, words = as_movement(r, m, rule, poses[first:b], worlds[first:b], fps)
            # The file says what is scored: without the joints the instructor's view makes unlike a
            # participant's (trunk_tilt of a side-on instructor), which scoring would drop at every start.
            r = view_stable(r)
            path = folder / f"{part_name}.json"
            # The rest after a part is the video's own gap before the next one's first repetition.
            rest = rest_after(m.end_s, found[k + 1].first_s) if k + 1 < len(found) else 0.0
            from common.coach.program_session import GRACE_S, LEAD_S

            # As the participant's counter: watching before the part, unless it begins at a hard cut
            # (nothing of it is under way in another shot; MoveNet read the high knees man's left leg
            # coming down over the 3 frames after the cut as a whole lift: 19 of 18).
            lead = 0 if m.shot else min(first, int(round(LEAD_S * fps)))
            tail = min(len(poses) - b, int(round(GRACE_S * fps)))  # ... and hearing a repetition under way at its end
            m.reps = segment.count_reps(r, poses[first - lead:b + tail], worlds[first - lead:b + tail], fps, lead, tail)
            if r.reps is not None and m.reps < MIN_COUNTED_REPS:
                # Nothing the instructor repeats, as counted: the part is timed, its routine without a rule
                # (a stretch done once had a target of 1 and was scored 0 on the participant's same clip).
                r, m.reps = dataclasses.replace(r, reps=None), 0
            write_routine(r, path)
            # A repeat of an earlier part of the same movement, both counted (program check refuses a
            # same_as joining a timed part, its routine without a rule, to a repeat).
            counted.append(r.reps is not None)
            earlier = next((j for j in range(k) if found[j].group == m.group and counted[j] and counted[k]), None)
            parts.append({"name": words, "routine": path.name, "start_s": round(m.first_s, 2), "end_s": round(m.end_s, 2),
                          "reps": m.reps or None,
                          "rest_s": min(max(rest, 0.0), programs.MAX_REST_S),
                          **({"same_as": earlier} if earlier is not None else {})})
    finally:
        for copy in copies:
            copy.discard()
    video_ref = str(Path(video).resolve())
    data = {"name": name, "title": program_title(name), "video": video_ref, "parts": parts}
    out.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    p = programs.load(str(out))
    if preview:
        contact_sheet(video, found, Path(preview), [part.name for part in p.parts], locale)
    return p


# A rest shorter than this is no rest screen at all: the TV's rest screen ("잠시 쉬세요", the seconds
# left, the next movement) needs a moment to be seen and read by an older viewer; a fraction of a
# second of it (a built program's 0.03-0.27 s gaps between two movements, where the video goes
# straight on) only flashes. Two seconds: the countdown shows at least "2" then "1", and a short
# line is read in about that long.
MIN_REST_S = 2.0


# A part whose instructor does fewer repetitions than this (counted as a participant's are) is timed,
# not counted: a movement done once is no repetition (a stretch held once), and 0 is no target.
MIN_COUNTED_REPS = 2


def rest_after(end_s: float, next_first_s: float) -> float:
    """The rest after a part that ends at `end_s` in the video when the next one's first repetition
    starts at `next_first_s`: the gap between them, 0 when shorter than MIN_REST_S (the next part
    follows at once; the gap's few frames are left out) or negative (a corrected cut overlap)."""
    gap = round(next_first_s - end_s, 2)
    return min(gap, programs.MAX_REST_S) if gap >= MIN_REST_S else 0.0


def as_movement(r: routines.Routine, m, rule, poses, worlds, fps: float) -> tuple[routines.Routine, dict]:
    """A part's routine as the movement it is (segment.recognise): a recognised one takes the
    bundled routine's name, cue table (scoring only the joints the table coaches) and repetition
    rule; an unrecognised one keeps a plain name ("동작 N") and plain cue words naming a direction
    and the phase each belongs to (cues.plain_cues)."""
    from common.coach import cues, segment

    if m.routine:
        known = routines.load(m.routine)
        movement = cues.movement_of(known)
        theirs = known.reps
        if theirs is not None:
            counted = segment.count_reps(dataclasses.replace(r, reps=theirs, keyframes=start_keyframe(r.keyframes, theirs)),
                                         poses, worlds, fps)
            if counted == 0:  # the instructor never crosses the bundled thresholds: the same rule at theirs
                low, high = segment.thresholds(segment.angle_track(poses, worlds), theirs.joints)
                theirs = dataclasses.replace(theirs, low=low, high=high)
        words = true_name(m.routine, known, poses, worlds, m.group)
        keyframes = start_keyframe(r.keyframes, theirs)
        return dataclasses.replace(r, title=words, movement=movement, reps=theirs, keyframes=keyframes,
                                   joints=cues.coached_joints(movement, r.joints)), words
    words = {"ko": f"동작 {m.group + 1}", "en": f"Movement {m.group + 1}"}
    angles = segment.angle_track(poses, worlds)
    closes = segment.closes_at_turn(angles, list(r.joints), rule)
    sig = segment.signature(angles)
    for joint in r.joints:  # a joint the movement holds still is told to hold, not to move
        k = segment.ALL_ANGLES.index(joint)
        if np.isfinite(sig[k, 0]) and sig[k, 1] - sig[k, 0] < segment.MOVING_DEG:
            closes[joint] = "held"
    keyframes = r.keyframes
    if rule is not None:  # the keyframes name the phases the cue words belong to
        phases = segment.phases(angles, rule)
        keyframes = tuple(dataclasses.replace(kf, phase=phase) for kf, phase in zip(r.keyframes, phases))
    return dataclasses.replace(r, title=words, reps=rule, keyframes=keyframes,
                               cues=cues.plain_cues(list(r.joints), closes)), words


def start_keyframe(keyframes: tuple, rule) -> tuple:
    """The keyframes with the first one's counted joints at the rule's start: the counter takes the
    instructor's start angle from the first keyframe, and a joint outside the start zone there would
    give a wrong one (its excursion to the start threshold negative: no frame is ever at the start,
    nothing counts). Such a joint, or one not read there, takes its angle at its first stay at the
    start within a repetition; without one it is left out (the counter then uses the participant's
    own start, as the bundled routine's rule stands). Marching never has both legs down at once (a leg already
    raised); a part's first repetition start looked back across its cut into the movement before
    (the goblet squats' first keyframe on the high knees' last walking frames, a knee at 148.8
    against the squat's 155 start: 2 of 6 counted)."""
    if rule is None or not keyframes:
        return keyframes

    def at_start(angle) -> bool:
        return angle is not None and (angle >= rule.high if rule.start == "high" else angle <= rule.low)

    first = dict(keyframes[0].angles)
    for joint in rule.joints:
        if not at_start(first.get(joint)):
            # Not read there, or not at the start: its own start angle where the part first shows it
            # (within a repetition, PERIOD_MAX_S). Without one the counter takes the rule's thresholds
            # as written from the person's own start, a few degrees of a high knee (the trial's high
            # knees part opened on a left lift, 94 deg, his start 171 deg 0.3 s later: the left's
            # excursion was 18 deg against the march's 31, his trunk's 10 deg sway rejected his first
            # lift: 16 of 18), or must hold a start first (a part opening at a hard cut, the hips not
            # read for 3 frames, then one frame down before the right's first lift: 17 of 18).
            from common.coach.segment import PERIOD_MAX_S

            stay = []  # its first stay at the start: the start position is its furthest out there
            for kf in keyframes[1:]:
                if at_start(kf.angles.get(joint)) and (stay or kf.t - keyframes[0].t <= PERIOD_MAX_S):
                    stay.append(kf.angles[joint])
                elif stay or kf.t - keyframes[0].t > PERIOD_MAX_S:
                    break
            if stay:
                first[joint] = max(stay) if rule.start == "high" else min(stay)
            else:
                first.pop(joint, None)
    return (dataclasses.replace(keyframes[0], angles=first), *keyframes[1:])


# A part is named after the bundled routine it was recognised as only where that name is true of
# what the pose shows. A bundled title can say more than a pose does: the squat's "의자 스쿼트"
# (a chair is not in the pose; a standing squat and a chair stand look alike), a timed test's
# "30초 ... 검사". Such a part is named what is true of both (common/locales program.part.*).
GENERAL_NAMES = {"squat": "program.part.squat", "chair_stand_30s": "program.part.squat",
                 "arm_curl_30s": "program.part.arm_curl"}
# The feet's distance apart changing by this share of the legs' own length over a part: the legs
# move (jumping jacks' 0.74-0.88 on the real clip, a squat's 0.03-0.05, front view).
FEET_APART_SHARE = 0.25
ARMS = ("left_shoulder", "right_shoulder", "left_elbow", "right_elbow")
LEGS = ("left_hip", "right_hip", "left_knee", "right_knee")


def true_name(routine_name: str, known: routines.Routine, poses, worlds, group: int) -> dict:
    """The part's name on the TV: the recognised routine's title where it is true of the part; the
    general name where the title says more than a pose shows (GENERAL_NAMES); a name made from what
    moves where the routine holds the legs still and here they move (jumping jacks are not arm
    raises: their arms go up as an arm raise's, and their legs move too)."""
    from common.texts import LOCALES, load_texts

    rule = known.reps
    legs_held = rule is not None and any(j in LEGS for j in rule.still)
    if legs_held and legs_move(poses, worlds):
        return moving_name(poses, worlds, group)
    key = GENERAL_NAMES.get(routine_name)
    if key:
        return {locale: load_texts(locale)[key] for locale in LOCALES}
    return dict(known.title)


def feet_apart_span(poses, worlds) -> float | None:
    """How much the feet's distance apart changes over these frames (5th to 95th percentile), as a
    share of the legs' own length (thigh + shin, median): in 3D from world landmarks, else in the
    picture. None when the legs are seen on fewer than half the frames (a lateral raise framed from
    the head to the hips)."""
    from common.coach.keypoints import COMMON_INDEX as at

    apart, legs = [], []
    points = ("left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle")
    for pose, world in zip(poses, worlds):
        pose = np.asarray(pose)
        if not len(pose) or min(pose[at[n]][2] for n in points) < 0.3:
            continue
        xyz = np.asarray(world, dtype=float)[:, :3] if world is not None else pose[:, :2].astype(float)
        legs.append(np.mean([np.linalg.norm(xyz[at[f"{s}_hip"]] - xyz[at[f"{s}_knee"]])
                             + np.linalg.norm(xyz[at[f"{s}_knee"]] - xyz[at[f"{s}_ankle"]]) for s in ("left", "right")]))
        apart.append(float(np.linalg.norm(xyz[at["left_ankle"]] - xyz[at["right_ankle"]])))
    if len(apart) < 0.5 * max(len(poses), 1) or not np.median(legs) > 0:
        return None
    return float((np.percentile(apart, 95) - np.percentile(apart, 5)) / np.median(legs))


def legs_move(poses, worlds) -> bool:
    """Whether the legs move in these frames: the feet apart by FEET_APART_SHARE of the legs' length
    more or less, or a hip or knee through segment.MOVING_DEG."""
    span = feet_apart_span(poses, worlds)
    return (span is not None and span >= FEET_APART_SHARE) or _moving(poses, worlds, LEGS)


def _moving(poses, worlds, joints) -> bool:
    from common.coach import segment

    sig = segment.signature(segment.angle_track(poses, worlds))
    return any(np.isfinite(sig[segment.ALL_ANGLES.index(j), 0])
               and sig[segment.ALL_ANGLES.index(j), 1] - sig[segment.ALL_ANGLES.index(j), 0] >= segment.MOVING_DEG
               for j in joints)


def moving_name(poses, worlds, group: int) -> dict:
    """A name made from what moves (the arms, the legs, both), else the plain "동작 N"."""
    from common.texts import LOCALES, load_texts

    arms, legs = _moving(poses, worlds, ARMS), legs_move(poses, worlds)
    key = ("program.part.arms_and_legs" if arms and legs else "program.part.arms" if arms
           else "program.part.legs" if legs else "")
    if not key:
        return {"ko": f"동작 {group + 1}", "en": f"Movement {group + 1}"}
    return {locale: load_texts(locale)[key] for locale in LOCALES}


def program_title(name: str) -> dict:
    """A built program's title: a Korean name (the centre's own, e.g. 아침_실버체조) is its Korean
    title as written ("아침 실버체조"); otherwise the plain "실버체조" the installer may correct."""
    import re

    if re.search("[가-힣]", name):
        return {"ko": name.replace("_", " ")[:60], "en": "Exercise program"}
    return {"ko": "실버체조", "en": "Exercise program"}


def _valid_name(name: str) -> bool:
    import re

    return re.match(programs.NAME_PATTERN, name) is not None


SHEET_COLUMNS = 4
THUMB_HEIGHT = 180


def sheet_label(number: int, name: dict, first_s: float, end_s: float, reps: int | None, locale: str) -> str:
    """A contact sheet row's words: the part's number and its name as the TV shows it (Korean, or
    English with the en locale; never the routine's key), its stretch and its target."""
    from common.texts import load_texts

    words = load_texts(locale)
    target = words["program.cell_reps"].format(n=reps) if reps else words["program.sheet_timed"]
    return f"{number}. {name.get(locale) or name['ko']}   {first_s:.1f}-{end_s:.1f} s   {target}"


def _draw_label(line, label: str) -> None:
    """`label` on a black band over the top left of a row (BGR), in a font that draws Hangul."""
    from PIL import Image, ImageDraw, ImageFont

    from common.fonts import find_font

    font = ImageFont.truetype(find_font(), 26)
    picture = Image.fromarray(line[:, :, ::-1].copy())
    draw = ImageDraw.Draw(picture)
    box = draw.textbbox((8, 4), label, font=font)
    draw.rectangle((0, 0, min(line.shape[1], box[2] + 8), box[3] + 6), fill=(0, 0, 0))
    draw.text((8, 4), label, font=font, fill=(255, 255, 255))
    line[:] = np.asarray(picture)[:, :, ::-1]


def contact_sheet(video: str, found, out: Path, names: list[dict] | None = None, locale: str = "ko") -> None:
    """One row per part: four pictures spread over its stretch, with the part's number, name, time
    and target written over the first, so an installer can see where each movement was cut."""
    import cv2

    from common.media import read_frames

    wanted: dict[int, list[tuple[int, int]]] = {}
    fps = None
    rows = [[None] * SHEET_COLUMNS for _ in found]
    times = [[m.first_s + (m.end_s - m.first_s) * (c + 0.5) / SHEET_COLUMNS for c in range(SHEET_COLUMNS)]
             for m in found]
    for _, t, bgr in read_frames(video):
        for r, ts in enumerate(times):
            for c, tc in enumerate(ts):
                if rows[r][c] is None and t >= tc:
                    h, w = bgr.shape[:2]
                    rows[r][c] = cv2.resize(bgr, (int(w * THUMB_HEIGHT / h), THUMB_HEIGHT))
    blank = next((x for row in rows for x in row if x is not None), np.zeros((THUMB_HEIGHT, 320, 3), np.uint8))
    lines = []
    for r, (m, row) in enumerate(zip(found, rows)):
        pics = [x if x is not None else np.zeros_like(blank) for x in row]
        line = np.hstack(pics)
        name = names[r] if names else {"ko": f"동작 {m.group + 1}", "en": f"Movement {m.group + 1}"}
        _draw_label(line, sheet_label(r + 1, name, m.first_s, m.end_s, m.reps, locale))
        lines.append(line)
    width = max(x.shape[1] for x in lines)
    sheet = np.vstack([np.pad(x, ((0, 4), (0, width - x.shape[1]), (0, 0))) for x in lines])
    if not cv2.imwrite(str(out), sheet):
        raise routines.RoutineError(f"--preview {out}: cannot write the picture there")


def score(args) -> int:
    """`silvergym program score FILE --video V [--json]`: an offline session through the program, the
    video as the participant from the program's start (as `silvergym score` does for one routine)."""
    from common.cli.routine import poses_from_video, video_size
    from common.coach.program_session import ProgramSession
    from common.coach.session import RecordedFallWatch, play_recording
    from common.media import InputError
    from models.catalog import ModelError

    if not args.input or not args.video:
        print("error: program score needs FILE (a program) and --video V (the participant)", file=sys.stderr)
        return 2
    try:
        program = programs.load(args.input)
    except programs.ProgramError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not Path(args.video).is_file():  # said before the model loads
        print(f"error: --video {args.video} does not exist or is not a file", file=sys.stderr)
        return 2
    from common import config as configuration

    try:
        cfg = configuration.load(getattr(args, "config", None), getattr(args, "overrides", {}))
    except configuration.ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not args.model:  # the participant read by the configured model (--set inference.model=..., as the box reads)
        args.model = cfg.inference.model
    if cfg.scoring.mode == "group":  # a class: every member through the program, by the class code (score's)
        from common.cli.score import run_group

        try:
            return run_group(args, program.parts[0].routine, cfg, program)
        except (InputError, ModelError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    video_clock = getattr(args, "follows_video", False) or same_video(args.video, program.video)
    if video_clock and (program.video is None or any(part.start_s is None for part in program.parts)):
        print(f"error: --follows-video: {program.source} plays no instructor video of its own (a part is a routine "
              "without a stretch of one); score without --follows-video", file=sys.stderr)
        return 2
    try:
        poses, worlds, fps = poses_from_video(args.video, args.model, args.cache)
        size = video_size(args.video)
    except (programs.ProgramError, InputError, ModelError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if video_clock:
        # On the program's clock: the stretch of each part the TV plays, the gaps it leaves out left out.
        frames = program.video_frames(fps, len(poses))
        poses, worlds = [None if i is None else poses[i] for i in frames], [None if i is None else worlds[i] for i in frames]
        print(f"note: {Path(args.video).name} is on the instructor video's own clock"
              f"{' (it is the program video itself)' if not getattr(args, 'follows_video', False) else ''}: scored where "
              f"the program plays each part (the video before {program.parts[0].start_s or 0:g} s and its gaps "
              "between parts left out, as the TV leaves them out)", file=sys.stderr)
    elif program.video is not None:
        lag = clock_problem(program, len(poses) / fps)
        if lag:
            print(f"note: {lag}", file=sys.stderr)
    person = ProgramSession(program)
    # The fall watch `score` runs, told while the part under way lies down (sit-ups on a mat are no fall).
    falls = RecordedFallWatch(person.lying_expected)
    ended = play_recording(person, poses, worlds, fps, size, lambda i, t, k, frame: falls.see(t, poses[k], size[1]))
    summary = falls.close(person.summary(ended))
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
        return 0
    print("\n".join(score_lines(Path(args.video).name, summary)))
    return 0


def same_video(path: str, video: Path | None) -> bool:
    """Whether the participant's video is the program's own instructor video (the same file, or a
    copy of it byte for byte: a new user tries the program on its own video first)."""
    import filecmp

    if video is None or not video.is_file():
        return False
    try:
        return Path(path).resolve() == video.resolve() or filecmp.cmp(path, video, shallow=False)
    except OSError:
        return False


def clock_problem(program: programs.Program, recording_s: float) -> str:
    """What to say when a participant's recording looks made on the instructor video's clock rather
    than the program's: it lasts as long as the video (within CLOCK_MATCH_S), which is not as long as
    the program; "" otherwise."""
    video_s = programs.video_seconds(program.video) if program.video.is_file() else None
    if video_s is None or abs(recording_s - video_s) > CLOCK_MATCH_S or abs(video_s - program.duration_s) <= CLOCK_MATCH_S:
        return ""
    ahead = program.parts[0].start_s or 0.0
    return (f"the video lasts {recording_s:.1f} s, as the instructor's video ({video_s:.1f} s), not the program "
            f"({program.duration_s:.1f} s: its first part starts {ahead:.2f} s into the video and gaps under "
            f"{MIN_REST_S:g} s between parts are left out); if the person followed the instructor's video rather than "
            "the TV's program, score with --follows-video")


# A recording this close in length to the instructor's video (and not to the program) was made
# following the video: a recording starts and stops by hand, within a second or so.
CLOCK_MATCH_S = 1.0


def score_lines(who: str, summary: dict) -> list[str]:
    """`program score`'s result: the lines the demo prints for a program (the command line's words
    are English, `score`'s; each movement by its Korean name first, then its English one, never the
    routine file's key), then the weakest movement by its number and name and how the session ended."""
    from common.cli.demo import program_lines

    lines = program_lines(who, summary)
    weakest = summary.get("weakest_part")
    named = next((p for p in summary["parts"] if p["part"] == weakest), None)
    lines.append((f"weakest: {weakest + 1}. {named['name']['ko']} / {named['name']['en']}; " if named else "")
                 + f"ended: {summary['ended']}")
    return lines


def run(args) -> int:
    from common.media import InputError
    from models.catalog import ModelError

    if args.action == "score":
        return score(args)
    if args.action == "check":
        if not args.input:
            print("error: program check needs FILE (a program's .json)", file=sys.stderr)
            return 2
        return check(args.input)
    if args.action == "list":
        return list_programs()
    if not args.input:
        print("error: program build needs VIDEO (and --out FILE.json, default the program store)", file=sys.stderr)
        return 2
    if not args.out:  # into the program store, where `--program NAME` finds it by name
        programs.store_dir().mkdir(parents=True, exist_ok=True)
        args.out = str(programs.store_dir() / f"{Path(args.input).stem.lower().replace(' ', '_')}.json")
    out = Path(args.out)
    if out.suffix != ".json":
        print(f"error: --out {args.out}: give a .json file name, e.g. morning.json", file=sys.stderr)
        return 2
    if not out.resolve().parent.is_dir():
        print(f"error: --out {args.out}: folder {out.resolve().parent} does not exist; create it or write elsewhere",
              file=sys.stderr)
        return 2
    if not Path(args.input).is_file():
        print(f"error: {args.input}: no such video file", file=sys.stderr)
        return 2
    if args.preview and not Path(args.preview).resolve().parent.is_dir():
        print(f"error: --preview {args.preview}: its folder does not exist", file=sys.stderr)
        return 2
    from common import config as configuration

    try:
        locale = configuration.load(getattr(args, "config", None), getattr(args, "overrides", {})).renderer.locale
        p = build_program(args.input, out, args.model, args.cache, args.poses_cache, args.preview, args.mirror, locale)
    except (InputError, ModelError, routines.RoutineError, programs.ProgramError, configuration.ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {out}: {len(p.parts)} parts")
    for i, part in enumerate(p.parts):
        again = f", same movement as part {part.same_as + 1}" if part.same_as is not None else ""
        print(f"  {i + 1}. {part.name['ko']} / {part.name['en']}: {part.start_s:.1f}-{part.end_s:.1f} s, "
              f"{f'{part.reps} reps' if part.reps is not None else 'timed (nothing to count)' if part.routine.reps is None else 'no target'}, joints "
              f"{', '.join(part.routine.joints)}{again}")
    if args.preview:
        print(f"contact sheet: {args.preview}")
    return 0
