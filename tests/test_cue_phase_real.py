"""A cue is said only in the phase its cue-table entry names (issue #40): on the real goblet-squat
clip, nothing tells the man to stand up ("엉덩이를 앞으로 밀며 몸을 세우세요") while the instructor
the TV shows is at the bottom, and a joint deeper than the routine's bottom is not painted red there."""
import pytest

from common.coach.cues import table
from common.coach.routine import load
from common.coach.scoring import SessionScorer
from tests.conftest import media_file, poses_of_video


@pytest.mark.parametrize("model", ["blazepose-full", "movenet-lightning"])
def test_no_stand_cue_at_the_bottom(model):
    video = media_file("dev/squat_goblet_oblique_gym.mp4")
    poses, worlds, fps = poses_of_video(video, model)
    routine = load("squat")
    cues, scorer = table(routine), SessionScorer(routine)
    bottom, off_phase, deep_red = 0, [], 0
    for i, (pose, world) in enumerate(zip(poses, worlds)):
        t = i / fps
        if t > routine.duration_s:
            break
        fs = scorer.update(t, pose, world)
        cue = cues.get(fs.guidance)
        if fs.phase == "down":
            bottom += 1
        if cue is not None and cue.phase and cue.phase != fs.phase:
            off_phase.append((round(t, 2), fs.phase, fs.guidance))
        watch = scorer.range_watch
        deep_red += sum(1 for j, st in fs.joint_status.items() if st == "wrong" and j in watch._ext
                        and fs.angles.get(j) is not None and watch._sign[j] * (fs.angles[j] - watch._ext[j]) > 0)
    print(f"{model}: frames at the bottom {bottom} (truth: the clip is squats), off-phase cues {len(off_phase)}"
          f" (before the fix, BlazePose: 107 'stand' cues at the bottom), red beyond the bottom {deep_red}")
    assert bottom > 50, "the routine's bottom phase was never shown"
    assert not off_phase, off_phase[:10]
    assert deep_red == 0
