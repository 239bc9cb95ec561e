"""`silvergym score --video V [--routine R] [--lag S] [--naive] [--json] [--set scoring.mode=group]`: an offline session.

The video is the participant. `--lag S` makes them start S seconds late (they stand as in the
first frame meanwhile), to try the lag-tolerant alignment; `--naive` compares at the same
timestamp, like the first prototype. The output is the routine and model line, then the summary
line; `--frames` adds a line per frame before it (verdict, offset, repetitions, the joints off).
With --json the last line is the session summary.

Group mode (scoring.mode = "group"): every person in the video is scored on their own
(models/group.py); the output is one line per person, left to right by spot (with --json one JSON
object each, with `spot`, `participant` and `participant_name` as the session records have them,
`name` (the roster's key or the spot's label, kept for older readers), `reps`, `score` and the
rest of their summary).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from common.coach import cues
from common.coach import program as programs
from common.coach import routine as routines
from common.coach.fall import lies_down
from common.coach import session
from common.coach.session import PersonSession
from common.program_results import shallow_depth


def run(args) -> int:
    from common.cli.routine import poses_from_video, video_size
    from common.media import InputError
    from models.catalog import ModelError

    from common import config as configuration

    try:
        cfg = configuration.load(args.config, args.overrides)
        if not args.model:  # read by the model the box reads with (as `program score`)
            args.model = cfg.inference.model
        routine = routines.load(args.routine or cfg.scoring.routine)
        if not Path(args.video).is_file():  # before a word or a model: bad input is its one line
            raise InputError(f"input {args.video} does not exist or is not a file")
        say_what_is_scored(args, cfg)
        if cfg.scoring.mode == "group":  # a class (through scoring.program's movements, if one is set)
            program = programs.load(cfg.scoring.program) if cfg.scoring.program else None
            return run_group(args, routine, cfg, program)
        poses, worlds, fps = poses_from_video(args.video, args.model, args.cache)
        size = video_size(args.video)
    except (configuration.ConfigError, routines.RoutineError, programs.ProgramError, InputError, ModelError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    person = PersonSession(routine, naive=args.naive, participant=cfg.participants.get(cfg.scoring.participant))
    lies = lies_down(routine)  # a floor exercise: lying in it is no fall (as the scoring service tells its detector)
    falls = session.RecordedFallWatch(lambda t: lies)
    lag_frames = int(round(args.lag * fps))
    given: list[str] = []  # every frame's cue key, as the TV would show it
    # The video is one performance: the session ends with the routine or with the video (as the
    # live services do with a recorded participant), whichever comes first.
    def on_frame(i, t, k, frame):
        given.append(frame.guidance)
        falls.see(t, poses[k], size[1])
        if getattr(args, "frames", False) and not args.json:  # a carer wants the summary; these are for tuning
            worst = [f"{j}={s}" for j, s in frame.joint_status.items() if s in ("near", "wrong")]
            print(f"t={t:5.2f}s verdict={frame.verdict:7s} offset={frame.offset_s:+.1f}s reps={frame.reps} "
                  f"{' '.join(worst)}")

    ended = session.play_recording(person, poses, worlds, fps, size, on_frame, lag_frames=lag_frames)
    summary = falls.close(person.summary(ended))  # alerts, and a fall not got up from ends it "fall"
    # the TV's cues, words from the routine's table; of two opposite for one joint, one (as the service's)
    summary["corrections"] = cues.corrections(routine, given, summary.get("advice", ""))
    print(json.dumps(summary, ensure_ascii=False) if args.json else summary_text(summary))
    return 0


def say_what_is_scored(args, cfg) -> None:
    """One line naming the routine (and where it came from) and the model, before any work: a
    carer who left out --routine sees which one the config chose. With --json on stderr, so that
    stdout stays the JSON lines."""
    from common import config as configuration

    where = "--routine" if args.routine else f"scoring.routine in {configuration.where_read(args.config)}"
    line = f"routine {args.routine or cfg.scoring.routine} ({where}), model {args.model}"
    if cfg.scoring.mode == "group":
        line += f", a class of up to {cfg.scoring.max_people} (scoring.mode = \"group\")"
        if cfg.scoring.program:
            line += f", program {cfg.scoring.program}"
    elif cfg.scoring.program:  # one person's program is `program score`'s
        line += (f"; the config's program {cfg.scoring.program} is not scored here: "
                 f"`silvergym program score {cfg.scoring.program} --video V` scores it")
    print(line, file=sys.stderr if args.json else sys.stdout, flush=True)
    for ignored in configuration.ignored_settings(cfg):
        print(f"warning: {ignored}", file=sys.stderr, flush=True)


def summary_text(summary: dict) -> str:
    """The session's result in its own terms, in one line: a count test's count against the norm,
    a hold's seconds, else the posture score (common/coach/scoring.py POSTURE_SCORE_DEFINITION)."""
    test = summary.get("test")
    if test:
        norm = f"normal range {test['low']}-{test['high']} for {test['sex']} {test['age_group']}"
        if test["assumed"]:
            norm += f" (assumed: {', '.join(test['assumed'])})"
        head = (f"{test['count']} in {test['seconds']:.1f} s of the {test['test_s']:.0f} s test, {norm}: "
                f"{test['rating']}; score {summary['score']:.1f}/100")
    elif "hold_s" in summary:
        head = f"held {summary['hold_s']:.1f} s of {summary.get('hold_target_s', 0):.0f} s; score {summary['score']:.1f}/100"
    elif summary.get("seen_not_measured"):  # common/program_results.py score_withheld: no figure is the person's
        head = f"no posture score, {summary['reps']} reps"
    else:
        head = f"posture score {summary['score']:.1f}/100, {summary['reps']} reps"
        by_side = summary.get("reps_by_side") or {}
        if by_side:  # a movement counted per side: a carer reads which side did less
            head += " (" + ", ".join(f"{side} {n}" for side, n in by_side.items()) + ")"
        if depth := shallow_depth(summary):  # the one rule of every place that says so
            head += (f", {100 * depth['share']:.0f}% of the routine's depth ({depth['degrees']:.0f} of "
                     f"{depth['target_degrees']:.0f} deg: shallower than its target)")
    weakest = summary.get("weakest")
    if weakest and not summary.get("seen_not_measured"):  # joints at 0 % against a depth the picture cannot show
        head += f"; posture by joint, weakest first: " + ", ".join(
            f"{j} {100 * v:.0f}%" for j, v in list(summary["joints"].items())[:3])
    if summary.get("ended") == session.VIDEO_ENDED and "video_ended_s" in summary:
        head += f"; the video ended at {summary['video_ended_s']:.1f} s of the {summary['duration_s']:.0f} s routine"
    from common.cli.supervisor import not_exercised_note, too_few_poses_note

    head += not_exercised_note(summary)  # common/coach/session.py exercised: its 0 is no result
    head += too_few_poses_note(summary)
    return head + f"; {summary['frames_scored']}/{summary['frames']} frames"


def parts_words(summary: dict) -> str:
    """A program member's movements on their line, each by its number, its Korean then English name
    (as `program score` and the demo name them; fresh-eyes trial 46c read English only) and its
    repetitions of the target: "; 1. 팔 들어올리기 / Arm raises 4/4; 2. ..."; "" for one routine."""
    return "".join(f"; {p['part'] + 1}. {p['name']['ko']} / {p['name']['en']} "
                   + ("timed" if p.get("timed") and not p["reps"] else f"{p['reps']}"  # a dance: no count, never 0
                      + (f"/{p['target_reps']}" if p["target_reps"] else "")) for p in summary.get("parts", []))


def people_in(front, bgr, t: float) -> list:
    """Everyone a pose front (models/group.py's GroupEstimator, or OnePerson: a class of one)
    follows on one picture, as ClassSession takes them: [(track, common, world or None, size)]."""
    from common.coach.keypoints import to_common, to_common_world

    size = bgr.shape[1], bgr.shape[0]
    return [(person.track, to_common(front.layout, person.keypoints),
             to_common_world(front.layout, person.world) if person.world is not None else None, size)
            for person in front.estimate(bgr, t)]


def score_class(pictures, front, routine, cfg=None, naive: bool = False, program=None) -> session.ClassSession:
    """A class on (t, picture)s through the pose front and common/coach/session.py's ClassSession
    (members are the people doing the routine: a passer-by is followed, never scored; each
    member's readings through their own PersonSession, a participant's from the roster). Stops
    when the routine is over. What `score --set scoring.mode=group` and the tests run.

    With a `program` every member goes through it on the class's one clock (a ProgramSession
    each, as one person's `program score`); the class ends when the program has, each member's
    last repetition under way at its end heard (ProgramSession.ended_by)."""
    from common.coach.program_session import ProgramSession
    from common.coach.spots import spot_name

    max_people = cfg.scoring.max_people if cfg is not None else 4

    def session_for(spot: int):
        name = (cfg.scoring.roster.get(spot) if cfg is not None else None) or spot_name(spot)
        participant = cfg.participants.get(name) if cfg is not None else None
        if program is not None:
            return ProgramSession(program, participant=participant, naive=naive)
        return PersonSession(routine, naive=naive, participant=participant)

    room = session.ClassSession(routine, max_people, session_for, program=program)
    for t, bgr in pictures:
        if t > room.duration_s + 1e-6 and all(m.ended_by(t) for m in room.sessions.values()):
            break  # the class's routine (or program, every member's last repetition heard) is over
        room.update(t, people_in(front, bgr, t))
    return room


def member_fields(spot: int, cfg) -> dict:
    """A class member's key and name as the scoring service and the session records give them:
    participant (the roster's key, "spot-N" for a spot it leaves out) and participant_name
    ([participants]'s name; absent when it gives none, as in the records)."""
    key = cfg.scoring.roster.get(spot, "")
    known = cfg.participants.get(key)
    return {"participant": key or f"spot-{spot}", **({"participant_name": known.name} if known is not None else {})}


def run_group(args, routine, cfg, program=None) -> int:
    """Every person in the video, each scored on their own; one line per person by spot. The same
    path as the services: everyone the group front follows goes through common/coach/spots.py's
    ClassRoll (members are the people doing the routine: a passer-by is followed, never scored),
    and each member's readings through their own PersonSession (common/coach/session.py)."""
    from common.cli.supervisor import member_label
    from common.coach.spots import spot_name
    from common.media import read_frames
    from models import catalog
    from models.group import GroupEstimator

    group = GroupEstimator(args.model or catalog.default_model(), args.cache, max_people=cfg.scoring.max_people)
    room = score_class(((t, bgr) for _, t, bgr in read_frames(args.video)), group, routine, cfg,
                       getattr(args, "naive", False), program)
    for spot, summary in room.summaries().items():
        name = cfg.scoring.roster.get(spot) or spot_name(spot)
        # As the session records name them (participant, participant_name: docs/mqtt.md); `name`,
        # the roster's key or the spot's label, is kept for what already reads it.
        summary = {"spot": spot, "name": name, **member_fields(spot, cfg), **summary}
        parts = parts_words(summary)  # a program: each part's repetitions
        print(json.dumps(summary, ensure_ascii=False) if args.json else
              f"{member_label(spot, cfg.scoring.roster.get(spot, ''), cfg)}: score {summary['score']:.1f}/100, {summary['reps']} reps, "
              f"{summary['frames_scored']}/{summary['frames']} frames{parts}")
    if not room.sessions:
        print("nobody was found in the video", file=sys.stderr)
    return 0
