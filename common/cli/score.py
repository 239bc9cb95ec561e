"""`silvergym score --routine R --video V [--lag S] [--naive] [--json]`: an offline session.

The video is the participant. `--lag S` makes them start S seconds late (they stand as in the
first frame meanwhile), to try the lag-tolerant alignment; `--naive` compares at the same
timestamp, like the first prototype. With --json the last line is the session summary.
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

    try:
        routine = routines.load(args.routine)
        poses, worlds, fps = poses_from_video(args.video, args.model, args.cache)
        size = video_size(args.video)
    except (routines.RoutineError, InputError, ModelError) as exc:
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
