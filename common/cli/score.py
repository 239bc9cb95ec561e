"""`silvergym score --routine R --video V [--lag S] [--naive] [--json] [--set scoring.mode=group]`: an offline session.

The video is the participant. `--lag S` makes them start S seconds late (they stand as in the
first frame meanwhile), to try the lag-tolerant alignment; `--naive` compares at the same
timestamp, like the first prototype. With --json the last line is the session summary.

Group mode (scoring.mode = "group"): every person in the video is scored on their own
(models/group.py); the output is one line per person, left to right by spot (with --json one JSON
object each, with `spot`, `name`, `reps`, `score` and the rest of their summary).
"""
from __future__ import annotations

import json
import sys

from common.coach import routine as routines
from common.coach.fall import FallDetector
from common.coach.scoring import SessionScorer


def run(args) -> int:
    from common.cli.routine import poses_from_video, video_size
    from common.media import InputError
    from models.catalog import ModelError

    from common import config as configuration

    try:
        cfg = configuration.load(args.config, args.overrides)
        routine = routines.load(args.routine)
        if cfg.scoring.mode == "group":
            return run_group(args, routine, cfg)
        poses, worlds, fps = poses_from_video(args.video, args.model, args.cache)
        size = video_size(args.video)
    except (configuration.ConfigError, routines.RoutineError, InputError, ModelError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    scorer = SessionScorer(routine, naive=args.naive)
    falls = FallDetector()
    alerts = []
    lag_frames = int(round(args.lag * fps))
    for i in range(len(poses)):
        t = i / fps
        k = max(0, i - lag_frames)  # the participant's frame at time t
        frame = scorer.update(t, poses[k], worlds[k], size)
        kind = falls.update(t, poses[k])
        if kind:
            alerts.append({"kind": kind, "t": round(t, 2)})
        if not args.json:
            worst = [f"{j}={s}" for j, s in frame.joint_status.items() if s in ("near", "wrong")]
            print(f"t={t:5.2f}s verdict={frame.verdict:7s} offset={frame.offset_s:+.1f}s reps={frame.reps} "
                  f"{' '.join(worst)}")
    summary = scorer.summary()
    summary["alerts"] = alerts
    print(json.dumps(summary, ensure_ascii=False) if args.json else
          f"score {summary['score']:.1f}/100, {summary['reps']} reps, {summary['frames_scored']}/{summary['frames']} frames")
    return 0


def run_group(args, routine, cfg) -> int:
    """Every person in the video, each scored on their own; one line per person by spot."""
    from common.coach.keypoints import to_common, to_common_world
    from common.coach.spots import spot_name
    from common.media import read_frames
    from models import catalog
    from models.group import GroupEstimator

    group = GroupEstimator(args.model or catalog.default_model(), args.cache, max_people=cfg.scoring.max_people)
    scorers: dict[int, SessionScorer] = {}  # by spot: someone who left and came back goes on with their session
    waiting: dict[int, list] = {}  # a candidate's frames by track, scored once it is confirmed
    for _, t, bgr in read_frames(args.video):
        size = bgr.shape[1], bgr.shape[0]
        for person in group.estimate(bgr, t):
            world = to_common_world(group.layout, person.world) if person.world is not None else None
            frames = waiting.setdefault(person.track, [])
            frames.append((t, to_common(group.layout, person.keypoints), world, size))
            if person.spot is not None:
                scorer = scorers.setdefault(person.spot, SessionScorer(routine, naive=args.naive))
                for frame in frames:
                    scorer.update(*frame)
                frames.clear()
    for spot in sorted(scorers):
        name = cfg.scoring.roster.get(spot) or spot_name(spot)
        summary = {"spot": spot, "name": name, **scorers[spot].summary()}
        print(json.dumps(summary, ensure_ascii=False) if args.json else
              f"{name}: score {summary['score']:.1f}/100, {summary['reps']} reps, "
              f"{summary['frames_scored']}/{summary['frames']} frames")
    if not scorers:
        print("nobody was found in the video", file=sys.stderr)
    return 0
