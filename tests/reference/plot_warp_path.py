"""Draw docs/warp_path.png: the alignment's path on a real clip (run by hand, needs ../shared/media).

    .venv/bin/python -m tests.reference.plot_warp_path ../shared/media/dance_600.mp4 docs/warp_path.png

A routine is built from the clip; the participant is the same clip at 0.67x tempo (frames
repeated); the figure shows the routine position judged at each moment against the clock, the
true position, and what a constant offset (the previous alignment) or no alignment would use.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from common.cli.routine import build, poses_from_video  # noqa: E402
from common.coach.scoring import SessionScorer  # noqa: E402
from tests.test_alignment_real import slowed_copy  # noqa: E402

TEMPO = 0.67


def main() -> int:
    clip, out = Path(sys.argv[1]), Path(sys.argv[2])
    poses, worlds, fps = poses_from_video(str(clip), "blazepose-full")
    routine = build(clip.stem, poses, worlds, fps, clip.name)
    with tempfile.TemporaryDirectory() as folder:
        slow = slowed_copy(clip, TEMPO, Path(folder) / "slow.avi")
        p, w, slow_fps = poses_from_video(str(slow), "blazepose-full")
    scorer = SessionScorer(routine)
    clock, judged, verdicts = [], [], []
    for i, (pose, world) in enumerate(zip(p, w)):
        t = i / slow_fps
        frame = scorer.update(t, pose, world)
        clock.append(t)
        judged.append(t - frame.offset_s)
        verdicts.append(frame.verdict)
    truth = [int(i * TEMPO) / fps for i in range(len(clock))]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(clock, clock, color="#999", ls="--", label="no alignment (the clock)")
    ax.plot(clock, [c - 1.5 for c in clock], color="#bbb", ls=":", label="largest constant lag (1.5 s)")
    ax.plot(clock, truth, color="#2ecc71", lw=4, alpha=0.5, label="where the participant really is")
    colours = {"correct": "#2ecc71", "near": "#f1c40f", "wrong": "#e74c3c", "none": "#999"}
    ax.scatter(clock, judged, s=10, c=[colours[v] for v in verdicts], label="position judged (verdict colour)", zorder=3)
    ax.set_xlabel("participant's clock (s)")
    ax.set_ylabel("routine position (s)")
    ax.set_title(f"{clip.name} at {TEMPO}x tempo: score {scorer.summary()['score']}, "
                 f"tempo measured {scorer.summary()['timing']['tempo']}")
    ax.set_ylim(-0.5, routine.duration_s + 0.5)
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
