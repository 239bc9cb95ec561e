"""Programs (#46): where `program build` finds each movement of an instructor video. The video is
JOINED here from real clips of ../shared/media (one after another with OpenCV, letterboxed to 640x360
at 30 fps: a joined video, not a real program recording), among them clips of few pictures a second
(squats_5reps 10 fps, the stretch 5 fps: each picture held 3 or 6 frames). Each movement must be found
within 1 s of where its clip was joined, none lost, repeats grouped. Truth (joins, repetitions) from
the folders' README/truth.tsv; found beside truth printed for every part."""
from __future__ import annotations

import json

import pytest

from tests.test_program import JOINED, join_clips, silvergym
from tests.test_program_trial import SQUATS_5

STRETCH = ("stretch_side_view.mp4", 7.8, 0, None, "stretch", "")  # 5 fps: a forward fold, then lunges; no repetitions
# The fresh-eyes trial's eight-clip program (rows as test_program.JOINED's): six movements, squats and
# jumping jacks each twice. The first three alone are the trial's three-clip join.
EIGHT = [JOINED[3],  # high knees, side view (18 lifts)
         SQUATS_5,  # squats, front, 10 fps (5)
         JOINED[2],  # lateral raises, legs out of the picture (4)
         JOINED[6],  # dance (no repetitions: a timed part)
         JOINED[0],  # fast jumping jacks, front (6)
         STRETCH,
         JOINED[5],  # squats, side view (8): a repeat of the squats
         ("dev/jumping_jacks_3views_studio.mp4", 6.3, 6, None, "jumping jacks", "arm_raise")]  # front view: a repeat


@pytest.fixture(scope="module")
def joined_eight(tmp_path_factory):
    """The eight clips joined and the first three joined alone, and the eight's poses as `program build`
    reads them (BlazePose), saved by it (--poses-cache); the three's are the eight's first frames (the
    same pictures, read picture by picture from the start)."""
    import numpy as np

    folder = tmp_path_factory.mktemp("cuts")
    video, three = folder / "eight.avi", folder / "three.avi"
    starts = join_clips(video, clips=EIGHT)
    join_clips(three, clips=EIGHT[:3])
    cache = folder / "poses_8.npy"
    r = silvergym("program", "build", str(video), "--out", str(folder / "read.json"), "--poses-cache", str(cache))
    assert r.returncode == 0, r.stderr
    read = np.load(cache, allow_pickle=True).item()
    return {"folder": folder, "videos": {8: video, 3: three}, "starts": starts, "poses": list(read["poses"]),
            "worlds": list(read["worlds"]), "fps": float(read["fps"])}


@pytest.mark.parametrize("clips", [3, 8])
def test_program_build_finds_each_movement_of_a_joined_video_within_a_second(joined_eight, clips):
    """The trial (BlazePose): of the eight joins 4 were found within 1 s; the lateral raises 2.5 s early
    and the stretch 2.6 s late, the 10 fps squats lost (2.4 s of them 'left out', the rest a rest), the
    side-view squats 1.4 s late; of the three-clip join 2 parts of 3. A change of movement snapped to the
    largest jump of the body within 3 s: the 10 fps squats jump at each picture as much as at a join
    (0.08-0.19 of the body against their join's 0.11), and after the stretch the pose tracker followed
    its region for 1.2 s and jumped 0.58 on finding the squatting woman, more than the join's 0.54. Now
    a new shot is read from the pictures (segment.shot_changes: the picture changes at a join 8-66 times
    as much as between any two frames near it, within a clip at most 1.5 times)."""
    import cv2
    import numpy as np

    from common.coach import segment
    from common.media import read_frames

    video = joined_eight["videos"][clips]
    starts, fps = joined_eight["starts"][:clips], joined_eight["fps"]
    frames = int(cv2.VideoCapture(str(video)).get(cv2.CAP_PROP_FRAME_COUNT))
    poses, worlds = joined_eight["poses"][:frames], joined_eight["worlds"][:frames]
    cache = joined_eight["folder"] / f"poses_{clips}.npy"
    np.save(cache, {"poses": np.asarray(poses), "worlds": worlds, "fps": fps}, allow_pickle=True)
    out = joined_eight["folder"] / f"cuts_{clips}.json"
    r = silvergym("program", "build", str(video), "--out", str(out), "--poses-cache", str(cache))
    print(r.stdout, r.stderr)
    assert r.returncode == 0, r.stderr
    parts = json.loads(out.read_text(encoding="utf-8"))["parts"]
    # Where each movement was cut, as the build cuts it (the same pictures and poses).
    pictures = np.asarray([segment.picture(bgr) for _, _, bgr in read_frames(str(video))])
    found = segment.find_movements(poses, worlds, fps, None, pictures)
    print(f"\n{'joined clip (a JOINED video)':40s} {'join':>6s} {'cut':>6s} {'error':>6s} {'begins':>6s} "
          f"{'error':>6s} {'truth':>5s} {'target':>6s} same_as")
    for k, (clip, _, truth, *_rest) in enumerate(EIGHT[:clips]):
        m, part = (found[k] if k < len(found) else None), (parts[k] if k < len(parts) else None)
        nan = float("nan")
        print(f"{clip:40s} {starts[k]:6.2f} {m.start_s if m else nan:6.2f} {(m.start_s - starts[k]) if m else nan:+6.2f} "
              f"{part['start_s'] if part else nan:6.2f} {(part['start_s'] - starts[k]) if part else nan:+6.2f} "
              f"{truth:5d} {(part['reps'] or '-') if part else '':>6} {part.get('same_as', '') if part else ''}")
    assert "left out" not in r.stderr, "a movement was left out"
    assert len(found) == len(parts) == clips, f"{len(parts)} parts in a video of {clips} clips"
    cuts = [round(m.start_s - s, 2) for m, s in zip(found, starts)]
    assert max(abs(e) for e in cuts) <= 1.0, f"movements found off their joins by {cuts} s"
    # Repeats grouped: the same movement (by truth) 'same as' its first, different ones not.
    truth = [movement for *_, movement, _ in EIGHT[:clips]]
    first = {}
    for k, part in enumerate(parts):
        assert part.get("same_as") == first.get(truth[k]), (k, truth[k], part.get("same_as"))
        first.setdefault(truth[k], k)
    if clips == 3:
        # Where the TV begins each part (its first repetition's start) and its target (the instructor's count).
        begins = [round(p["start_s"] - s, 2) for p, s in zip(parts, starts)]
        assert max(abs(e) for e in begins) <= 1.0, f"parts begin off their joins by {begins} s"
        assert [p["reps"] for p in parts] == [c[2] for c in EIGHT[:3]], "targets"
    if clips == 8:
        # The stretch (a fold, then lunges; no repetitions) is timed, not a target of 1 (the instructor's one
        # "repetition" of it, before MIN_COUNTED_REPS).
        print(f"stretch: truth no repetitions (timed); built target {parts[5]['reps']}")
        assert parts[5]["reps"] is None, parts[5]
    # Not met in the eight (printed above, #46 report): after the stretch the model follows the stretch's
    # region for 1.2 s over the squatting woman (a misread pose), so her part begins 1.1 s after its cut,
    # at her first squat's bottom, and counts 7 of 8.
