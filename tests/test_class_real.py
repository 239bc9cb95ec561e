"""A real class in front of the camera (issue 44): the members are the people exercising.

two_people_sports2d.mp4 is a real scene (not a composite): at 1768x994, 30 fps, a man further
back does 2 jumping jacks then a flip while a woman walks past in front of the camera. Through
`silvergym score --set scoring.mode=group` (the group path the services use: models/group.py's
GroupEstimator following everyone, common/coach/spots.py's ClassRoll deciding members, the per-person
session of common/coach/session.py), played once and then looped (four plays, as a camera
source looping a file shows it: each play a new source, the pose front reset), the jumper must be
one member with 2 jumping jacks in each play and the walker none.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO, media_file

CLIP = "two_people_sports2d.mp4"
JACKS_PER_PLAY = 2  # the README's truth


def score_class(video: str, model: str) -> list[dict]:
    out = subprocess.run([sys.executable, "-m", "common.cli", "score", "--routine", "arm_raise", "--video", video,
                          "--set", "scoring.mode=group", "--json", "--model", model],
                         cwd=REPO, capture_output=True, text=True, timeout=1200)
    assert out.returncode == 0, out.stderr[-2000:]
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]


def looped_as_the_camera_plays_it(front, frames: list, plays: int, fps: float = 30.0):
    """(t, picture) of the clip played `plays` times in a row as a camera source looping the file
    gives it: each play is a new source ("...#play2", services/camera.py), at which inference resets
    the pose front (services/inference.py), so nobody is followed across the seam."""
    for play in range(plays):
        if play:
            front.reset()
        for i, bgr in enumerate(frames):
            yield (play * len(frames) + i) / fps, bgr


@pytest.mark.parametrize("model", ["movenet-lightning", "blazepose-full"])
def test_the_jumper_is_one_member_and_the_walker_never_one_played_once_and_looped(model):
    """Played once through `silvergym score`, and four times as a looping camera file plays it,
    through the same group path (`score`'s score_class: the group front, ClassRoll, a PersonSession
    per spot). Measured before the counter took a seam as a cut (common/coach/reps.py
    RepCounter.cut_s): 11 for truth 8 with both models, an excursion from the end of one play (the
    arm swung for the flip) to the jumper's first jack of the next counted each loop."""
    from common.cli.score import score_class as score_room
    from common.coach import routine as routines
    from common.media import read_frames
    from models import catalog
    from models.group import GroupEstimator

    once = score_class(str(media_file(CLIP)), model)
    frames = [bgr for _, _, bgr in read_frames(str(media_file(CLIP)))]
    try:
        front = GroupEstimator(model)
    except catalog.ModelError as exc:
        pytest.skip(f"{exc} (make test fetches it)")
    routine = routines.load("arm_raise")
    room = score_room(looped_as_the_camera_plays_it(front, frames, 4), front, routine)
    four = [{"spot": spot, **summary} for spot, summary in room.summaries().items()]
    play_s = len(frames) / 30.0
    per_play = {spot: [sum(1 for c in person.scorer.reps.counters.values() for m in c.middles
                           if k * play_s <= m < (k + 1) * play_s) for k in range(4)]
                for spot, person in room.sessions.items()}
    for plays, people in ((1, once), (4, four)):
        print(f"\n{model}, played {plays}x: " + "; ".join(
            f"spot {p['spot']}: {p['reps']} reps (truth {JACKS_PER_PLAY * plays}), {p['frames']} frames"
            + (f", per play {per_play[p['spot']]} (truth {[JACKS_PER_PLAY] * 4})" if plays == 4 else "")
            for p in people) + f"; the walker a member: {'no' if len(people) == 1 else 'yes'} (truth no)")
    assert len(once) == 1 and len(four) == 1, "one member (the jumper), one session; the walker never a member"
    assert once[0]["reps"] == JACKS_PER_PLAY
    assert per_play[four[0]["spot"]] == [JACKS_PER_PLAY] * 4


def test_a_loaded_box_reading_the_looping_clip_live_keeps_the_jumper_read_and_a_member():
    """Live inference on a camera (or a looping file) reads the newest picture whenever it is free,
    so what it reads depends on what each reading costs. Here that cost is a model of a loaded
    2-core box, not measured time (so the test gives one answer on any machine): 30 ms per
    detector square and 15 ms per landmark read (measured on this machine under load 15-18: a
    detector pass over all 24 squares of the 1768x994 picture 1.1-3 s, a reading of two people
    40-500 ms). The real clip, its real readings (BlazePose, the group front), looped twice as the
    camera loops it (the front reset at each play), the pictures read chosen by that cost; members
    and counts through `score`'s ClassSession. Before the detector looked in a slice of its fine
    squares per pass (models/group.py FINE_PER_PASS), each second pass looked in all 21 at once
    (0.7 s here): 197 of 690 pictures read in 3 plays, gaps up to 1.6 s, the jumper never a
    member (live: no session in 150 s of the looping demo)."""
    from common.cli.score import people_in
    from common.coach import routine as routines
    from common.coach.session import ClassSession
    from common.media import read_frames
    from models import catalog
    from models.group import GroupEstimator

    detector_s, landmarks_s, plays, fps = 0.030, 0.015, 2, 30.0
    frames = [bgr for _, _, bgr in read_frames(str(media_file(CLIP)))]
    try:
        front = GroupEstimator("blazepose-full")
    except catalog.ModelError as exc:
        pytest.skip(f"{exc} (make test fetches it)")
    calls = {"detector": 0, "landmarks": 0}

    def counted(fn, key):
        def call(*args, **kwargs):
            calls[key] += 1
            return fn(*args, **kwargs)
        return call

    front.finder.detect = counted(front.finder.detect, "detector")
    front._read = counted(front._read, "landmarks")
    room = ClassSession(routines.load("arm_raise"), 4)
    free_at, last, read, gaps, n = 0.0, -1, [], [], len(frames)
    while True:
        k = max(int(free_at * fps), last + 1)  # the newest picture when the model is free
        if k >= plays * n:
            break
        if k // n != max(last, 0) // n:
            front.reset()  # a looping file's next play is a new source: inference resets the front
        calls.update(detector=0, landmarks=0)
        people = people_in(front, frames[k % n], k / fps)
        free_at = max(free_at, k / fps) + 0.005 + detector_s * calls["detector"] + landmarks_s * calls["landmarks"]
        gaps += [(k - read[-1]) / fps] if read else []
        read.append(k)
        last = k
        room.update(k / fps, people)
    play_s = n / fps
    per_play = {spot: [sum(1 for c in person.scorer.reps.counters.values() for m in c.middles
                           if p * play_s <= m < (p + 1) * play_s) for p in range(plays)]
                for spot, person in room.sessions.items()}
    print(f"\n{CLIP} looped {plays}x, read as a loaded box would ({detector_s * 1000:.0f} ms a detector square, "
          f"{landmarks_s * 1000:.0f} ms a landmark read): {len(read)} of {plays * n} pictures read, longest gap "
          f"{max(gaps):.2f} s; members {sorted(room.sessions)} (truth [1]), per play {per_play} (truth "
          f"{[JACKS_PER_PLAY] * plays}), never members {room.roll.never_members()} (the walker among them)")
    assert max(gaps) < 1.0, "nobody unread for a second: RepCounter.cut_s would take it for a cut"
    assert len(room.sessions) == 1, "the jumper one member, the walker never one"
    (counts,) = per_play.values()
    assert all(abs(c - JACKS_PER_PLAY) <= 1 for c in counts) and counts[-1] == JACKS_PER_PLAY


def test_run_once_plays_a_recorded_class_and_the_jumper_is_its_one_member(tmp_path):
    """`silvergym run --once --video two_people_sports2d.mp4 --routine arm_raise --set
    scoring.mode=group --snapshots D --seconds 240`, as a fresh-eyes trial typed it: the real graph
    (camera, the model, scoring, the TV, the uplink with no broker). The trial's run never started
    a class: the camera held the clip's first picture until a session started, and in a class a
    session starts only once someone follows the routine, which nobody does in a held picture
    (4 minutes of "조금 앞으로 와 주세요", then "no session finished before the time limit", and the
    process waited out --seconds even had it finished). Now the recorded class's clip plays from its
    start and the class's clock with it: the jumper must be its one member with 2 jumping jacks
    (truth), the walker never one, and --once must stop at the session's end, not at --seconds."""
    import os
    import time

    from tests.graph import BusTap, core_model, graph_config

    clip = media_file(CLIP)
    model = core_model()
    cfg = tmp_path / "silvergym.toml"
    cfg.write_text(graph_config(tmp_path, clip, model=model))
    assert "start_with_session" not in cfg.read_text() and "\nmode =" not in cfg.read_text()  # as typed: --set only
    tap = BusTap(cfg)
    try:
        began = time.monotonic()
        run = subprocess.run([sys.executable, "-m", "common.cli", "run", "--once", "--config", str(cfg),
                              "--video", str(clip), "--routine", "arm_raise", "--set", "scoring.mode=group",
                              "--snapshots", str(tmp_path / "screens"), "--seconds", "240"],
                             capture_output=True, text=True, cwd=REPO, timeout=300,
                             env={**os.environ, "SDL_VIDEODRIVER": "dummy"})
        took_s = time.monotonic() - began
        ended = list(tap.sessions_ended)
    finally:
        tap.close()
    spots = sorted({int(line.rsplit("is spot ", 1)[1].split()[0]) for line in (run.stdout + run.stderr).splitlines()
                    if "is spot " in line})
    summary = json.loads(run.stdout.strip().splitlines()[-1]) if run.returncode == 0 else {}
    print(f"\n{CLIP}, run --once in group mode ({model}): exit {run.returncode} after {took_s:.0f} s (--seconds 240); "
          f"sessions ended {[(m.spot, m.summary.get('reps')) for m in ended]} (truth: one, spot 1, "
          f"{JACKS_PER_PLAY} reps); spots given {spots} (truth [1]: the walker never a member); "
          f"reps {summary.get('reps')} (truth {JACKS_PER_PLAY}), frames {summary.get('frames')}, "
          f"ended {summary.get('ended')!r}")
    assert run.returncode == 0, run.stderr[-3000:]
    assert len(ended) == 1 and ended[0].spot == 1 and ended[0].class_id, "one member, one session of a class"
    assert spots == [1], "the walker never a member"
    assert summary["reps"] == JACKS_PER_PLAY and summary["ended"] == "video ended"
    assert took_s < 200, "--once stops when the class's session has run its course, not at --seconds"
    assert tap.refused == [], f"messages the product published and refused itself: {tap.refused[:5]}"


# -- composed rooms (COMPOSITES of real clips, not real group scenes) -------------------------------

ROOM = (1280, 720)
FPS = 30.0


def _clip(name: str) -> tuple[list, float]:
    import cv2

    from common.media import read_frames

    path = str(media_file(name))
    cap = cv2.VideoCapture(path)
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    cap.release()
    return [bgr for _, _, bgr in read_frames(path)], fps


def _centre_crop(bgr, share: float = 0.5):
    w = bgr.shape[1]
    keep = int(w * share)
    return bgr[:, (w - keep) // 2:(w - keep) // 2 + keep]


def compose_room(seconds: float, layers: list[dict]) -> list:
    """A COMPOSITE room: each layer a real clip (centre-cropped), scaled to `height` px, its bottom at
    `floor` (further people stand higher and smaller), at x (a function of time for someone walking),
    drawn back to front in the given order over a grey wall, each at its own clip time (`late_s`: its first picture held that long; its last held after)."""
    import cv2
    import numpy as np

    frames = []
    for i in range(int(seconds * FPS)):
        t = i / FPS
        room = np.full((ROOM[1], ROOM[0], 3), 150, np.uint8)
        for layer in layers:
            clip, fps = layer["clip"]
            shown = min(max(int((t - layer.get("late_s", 0.0)) * fps), 0), len(clip) - 1)  # held before and after
            src = _centre_crop(clip[shown], layer.get("crop", 0.5))
            h = layer["height"]
            w = round(src.shape[1] * h / src.shape[0])
            tile = cv2.resize(src, (w, h))
            x = int(layer["x"](t) if callable(layer["x"]) else layer["x"])
            top = layer["floor"] - h
            a, b = max(0, x), min(ROOM[0], x + w)
            if b > a:
                room[top:top + h, a:b] = tile[:, a - x:b - x]
        frames.append(room)
    return frames


def write_avi(frames, path) -> str:
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, ROOM)
    assert writer.isOpened(), "OpenCV cannot write MJPG here"
    for f in frames:
        writer.write(f)
    writer.release()
    return str(path)


@pytest.fixture(scope="module")
def jacks_room(tmp_path_factory):
    """COMPOSITE. Two people doing jumping jacks at two depths: the fast jacks (6, truth) near the
    camera, 620 px tall; the studio's front-view jacks (6 in its first 6.2 s, truth) further back at
    0.45 of that, partly behind him (his picture covers her right hand when her arms are out),
    standing still for the first second (a late start: the detector looks for newcomers
    about once a second); squat_man holding his squat at the left at 0.6 (watching); and dance_600's dancer
    walking through the back of the room from right to left at 300 px/s (0.42 of the near one's
    size, about 3 of his torso lengths a second), passing behind all three (seen in the gaps
    between them and partly behind each)."""
    fast, studio = _clip("dev/jumping_jacks_fast_front_gym.mp4"), _clip("dev/jumping_jacks_3views_studio.mp4")
    dancer, man = _clip("dance_600.mp4"), _clip("squat_man.mp4")
    layers = [
        dict(name="dance_600 (walks through behind)", clip=dancer, height=260, floor=520, x=lambda t: 1300 - 300 * t,
             truth=None),
        dict(name="squat_man (holds a squat, watching)", clip=man, crop=1.0, height=370, floor=640, x=20, truth=None),
        dict(name="studio jacks (far, 0.45x, starts 1 s late, her right arm behind the near one)", clip=studio, crop=0.45, height=280, floor=560, x=600,
             late_s=1.0, truth=6),
        dict(name="fast jacks (near, 1x)", clip=fast, crop=0.45, height=620, floor=715, x=760, truth=6),
    ]
    frames = compose_room(7.3, layers)
    path = write_avi(frames, tmp_path_factory.mktemp("room") / "jacks_room.avi")
    import cv2

    cv2.imwrite(path + ".png", frames[len(frames) // 2])  # to look at when it fails
    print(f"\nthe composed room's middle frame: {path}.png")
    return path, layers


@pytest.mark.parametrize("model", ["movenet-lightning", "blazepose-full"])
def test_a_composed_room_gives_each_exerciser_one_spot_and_their_count_and_nobody_else_a_spot(model, jacks_room):
    path, layers = jacks_room
    people = score_class(path, model)
    exercisers = [layer for layer in layers if layer["truth"]]
    print(f"\n{model}, COMPOSITE room of real clips (spots left to right on the TV as the class starts, then by arrival):")
    for p in people:
        print(f"  spot {p['spot']}: {p['reps']} reps, {p['frames']} frames")
    print("  exercising (truth): " + "; ".join(f"{layer['name']}: {layer['truth']} reps" for layer in exercisers))
    print("  never members (truth: never): " + ", ".join(layer["name"] for layer in layers if not layer["truth"])
          + f" -> {'correct' if len(people) == len(exercisers) else 'WRONG: ' + str(len(people)) + ' members'}")
    assert len(people) == len(exercisers), "each exerciser one spot, nobody else a spot"
    assert sorted(p["reps"] for p in people) == sorted(layer["truth"] for layer in exercisers)


# -- a class against each of its members alone (COMPOSITE of real clips) ---------------------------

ALONE_FPS, ALONE_SECONDS, ALONE_HEIGHT = 15, 10.0, 360
# Per room: (clip, complete squats in its first 10 s by the README's times, share of the width kept
# around the person, height as a share of the nearest: someone further back); the third person
# of each room does not squat (never a member of a squat class). The share keeps each squatter
# whole, as a room shows people: at 0.5 the arms-up squatter (right of his clip's middle) lost his
# left knee, arm and foot to his column's edge, and MoveNet then put the missing knee on the
# neighbour's picture in the class (76.4) and on the picture's edge alone (33.8): a composition
# artefact, checked below (the members' sides are in view alone).
ALONE_ROOMS = {
    "front_side_jacks": [("dev/squat_dumbbell_front_home.mp4", 4, 0.5, 1.0), ("dev/squat_side_studio.mp4", 5, 0.6, 0.75),
                         ("dev/jumping_jacks_3views_studio.mp4", 0, 0.45, 1.0)],
    "oblique_armsup_raise": [("dev/squat_goblet_oblique_gym.mp4", 2, 0.5, 1.0),
                             ("dev/squat_arms_up_front_studio.mp4", 2, 0.8, 0.8),
                             ("dev/lateral_raise_waist_up_gym.mp4", 0, 0.5, 1.0)],
}
_rooms: dict = {}


def class_and_alone(room: str):
    """COMPOSITE: three real dev clips side by side at 15 fps for 10 s, each centre-cropped, scaled
    (a share of the nearest: further back) and standing on one floor. Each person's column, as it is
    in the room, is also their clip alone."""
    import cv2
    import numpy as np

    if room in _rooms:
        return _rooms[room]
    columns = []
    for name, _, share, scale in ALONE_ROOMS[room]:
        frames, fps = _clip(name)
        h = round(ALONE_HEIGHT * scale)
        column = []
        for i in range(int(ALONE_SECONDS * ALONE_FPS)):
            src = _centre_crop(frames[min(int(i / ALONE_FPS * fps), len(frames) - 1)], share)
            body = cv2.resize(src, (round(src.shape[1] * h / src.shape[0]), h))
            picture = np.full((ALONE_HEIGHT, body.shape[1], 3), 150, np.uint8)
            picture[ALONE_HEIGHT - h:] = body
            column.append(picture)
        columns.append(column)
    pictures = [np.concatenate([c[i] for c in columns], axis=1) for i in range(len(columns[0]))]
    edges = np.cumsum([0] + [c[0].shape[1] for c in columns])
    _rooms[room] = pictures, columns, [(int(a), int(b)) for a, b in zip(edges, edges[1:])]
    return _rooms[room]


@pytest.mark.parametrize("model,room", [
    ("movenet-lightning", "front_side_jacks"), ("blazepose-full", "front_side_jacks"),
    ("movenet-lightning", "oblique_armsup_raise"),
    ("blazepose-full", "oblique_armsup_raise"),
])
def test_each_member_of_a_composed_class_scores_within_5_points_of_their_clip_alone(model, room):
    """The class path (the group front, common/coach/spots.py's ClassRoll with the squat routine, a
    PersonSession per spot: what the scoring service and `silvergym score` run) against one person's
    path (OnePerson around the Estimator, a PersonSession) on the same pictures: each member's score
    within 5 points of their clip alone, the same repetitions; the one doing jumping jacks is never
    a member."""
    import numpy as np

    from common.cli.score import people_in, score_class
    from common.coach import routine as routines
    from common.coach.framing import in_view
    from common.coach.session import PersonSession
    from models.estimator import Estimator, OnePerson
    from models.group import GroupEstimator

    clips = ALONE_ROOMS[room]
    pictures, columns, spans = class_and_alone(room)
    squat = routines.load("squat")
    # The class: `silvergym score --set scoring.mode=group`'s own loop on these pictures.
    room_scored = score_class(((i / ALONE_FPS, p) for i, p in enumerate(pictures)), GroupEstimator(model), squat)
    sessions = room_scored.sessions
    homes = room_scored.roll.book.spots.homes  # where each spot's person mostly stood (x, pixels)
    alone, side_cut = [], []
    for column in columns:  # one person: the same front as a class of one, a PersonSession
        one, session = OnePerson(Estimator(model)), PersonSession(squat)
        cut = 0
        for i, picture in enumerate(column):
            people = people_in(one, picture, i / ALONE_FPS)
            _, common, world, size = people[0] if people else (0, None, None, (picture.shape[1], picture.shape[0]))
            cut += bool(people) and "side" in in_view(common, *size)[1]
            session.update(i / ALONE_FPS, common, world, size)
        alone.append(session.scorer.summary())
        side_cut.append(cut / len(column))
    where = {spot: next(k for k, (a, b) in enumerate(spans) if a <= homes[spot] < b) for spot in sessions}
    lines, gaps = [], {}
    for spot in sorted(sessions):
        k, got = where[spot], sessions[spot].scorer.summary()
        gaps[k] = abs(got["score"] - alone[k]["score"])
        lines.append(f"spot {spot} = {clips[k][0]}: in the class {got['score']:.1f} ({got['reps']} reps), alone "
                     f"{alone[k]['score']:.1f} ({alone[k]['reps']} reps), truth {clips[k][1]} reps; gap {gaps[k]:.1f}; a side "
                     f"cut by the column alone on {side_cut[k]:.0%} of the pictures")
    print(f"\n{model}, COMPOSITE class of real clips ({room}):\n  " + "\n  ".join(lines) + "\n  never a member "
          f"(truth: never): {clips[2][0]} (alone {alone[2]['score']:.1f}, {alone[2]['reps']} reps)")
    assert max(side_cut[:2]) <= 0.1, f"the composition cuts a squatter's side: {lines}"
    assert sorted(where.values()) == [0, 1], "the two squatters are the members, the third (no squat) is not"
    for spot in sessions:
        k = where[spot]
        # Equal to alone is not enough: a change that counts nobody gives 0 = 0.
        assert sessions[spot].scorer.summary()["reps"] == alone[k]["reps"] == clips[k][1], lines
        assert gaps[k] <= 5, lines


# -- two squatters at two depths, one of them followed twice (COMPOSITE of real clips) ---------------

# A fresh-eyes trial's room, rebuilt here: squat_dumbbell_front_home (5 squats, truth) at its own
# size at the left of a 1660x540 picture, squat_goblet_oblique_gym (6 squats, truth) at 0.6 of her
# size further right and higher (further back), a grey wall between and around; each clip from its
# first picture; when the shorter clip ends its place is the wall (he has left: a held last
# picture would be a man standing still, scored beyond his clip alone).
TWO_DEPTHS = [("dev/squat_dumbbell_front_home.mp4", 5, 1.0, (0, 0)), ("dev/squat_goblet_oblique_gym.mp4", 6, 0.6, (1020, 120))]
TWO_DEPTHS_SIZE = (1660, 540)


@pytest.fixture(scope="module")
def two_depths_room(tmp_path_factory):
    import cv2
    import numpy as np

    clips = [_clip(name)[0] for name, _, _, _ in TWO_DEPTHS]
    path = tmp_path_factory.mktemp("two_depths") / "two_depths_squats.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, TWO_DEPTHS_SIZE)
    assert writer.isOpened(), "OpenCV cannot write MJPG here"
    spans = []
    for i in range(max(len(c) for c in clips)):
        room = np.full((TWO_DEPTHS_SIZE[1], TWO_DEPTHS_SIZE[0], 3), (86, 89, 87), np.uint8)
        spans = []
        for clip, (_, _, scale, (x, y)) in zip(clips, TWO_DEPTHS):
            w, h = round(clip[0].shape[1] * scale), round(clip[0].shape[0] * scale)
            if i < len(clip):
                room[y:y + h, x:x + w] = cv2.resize(clip[i], (w, h), interpolation=cv2.INTER_AREA)
            spans.append((x, x + w))
        writer.write(room)
        if i == 200:
            cv2.imwrite(str(path) + ".png", room)  # to look at when it fails
    writer.release()
    return str(path), spans


@pytest.mark.parametrize("model", ["movenet-lightning", "blazepose-full"])
def test_a_squatter_followed_twice_is_one_member_and_each_of_two_at_two_depths_is_scored_as_alone(model, two_depths_room):
    """COMPOSITE (two_depths_room). Before: with MoveNet a follower the detector started on the
    chair beside the dumbbell squatter slid onto him (3.4 s) and read him from then on beside his
    own track, both within 0.1 of his torso; both did his squats, and the roll gave him spot 1 and
    spot 2 (two sessions, his tags stacked on the TV). Now the group front drops the second reading
    of a body (models/group.py) and the roll never gives a spot to a reading on a member's place
    (common/coach/spots.py on_place). Each member: one spot, in their own part of the picture,
    their true count, the same readings as their clip alone (frames), score beside alone."""
    from common.cli.routine import video_size
    from common.cli.score import score_class
    from common.coach import routine as routines
    from common.coach.session import PersonSession, play_recording
    from common.media import read_frames
    from models import catalog
    from models.group import GroupEstimator
    from tests.conftest import poses_of_video

    path, spans = two_depths_room
    squat = routines.load("squat")
    try:
        front = GroupEstimator(model)
    except catalog.ModelError as exc:
        pytest.skip(f"{exc} (make test fetches it)")
    pictures = [t for _, t, _ in read_frames(path)]
    room = score_class(((t, bgr) for _, t, bgr in read_frames(path)), front, squat)
    homes = room.roll.book.spots.homes
    alone = []
    for name, _, _, _ in TWO_DEPTHS:  # one person's `silvergym score` of the clip itself
        poses, worlds, fps = poses_of_video(media_file(name), model)
        person = PersonSession(squat)
        play_recording(person, poses, worlds, fps, video_size(str(media_file(name))))
        alone.append(person.summary(""))
    where = {spot: [k for k, (a, b) in enumerate(spans) if a <= homes[spot] < b] for spot in room.sessions}
    lines = []
    for spot in sorted(room.sessions):
        got = room.sessions[spot].scorer.summary()
        k = where[spot][0] if where[spot] else None
        lines.append(f"spot {spot} at x {homes[spot]:.0f}: {got['reps']} reps, score {got['score']:.1f}, "
                     f"{got['frames_scored']} frames scored" + (
                         f" = {TWO_DEPTHS[k][0]} (truth {TWO_DEPTHS[k][1]} reps; alone {alone[k]['reps']} reps, "
                         f"score {alone[k]['score']:.1f}, {alone[k]['frames_scored']} frames scored; gap "
                         f"{got['score'] - alone[k]['score']:+.1f})" if k is not None else " = nobody's part of the picture"))
    print(f"\n{model}, COMPOSITE room of two real squat clips (1x and 0.6x), {len(room.sessions)} members "
          f"(truth 2):\n  " + "\n  ".join(lines) + "\n  readings each spot heard: " + ", ".join(
              f"spot {spot} {room.sessions[spot].scorer.summary()['frames']}" for spot in sorted(room.sessions))
          + f" of {len(pictures)} pictures (truth: at most one a picture)")
    # No picture heard twice: a second follower on the squatter, in place before his own follower
    # was lost, took his spot and replayed pictures the spot had heard (MoveNet: 225 of 216).
    assert all(room.sessions[spot].scorer.summary()["frames"] <= len(pictures) for spot in room.sessions), lines
    assert sorted(k for w in where.values() for k in w) == [0, 1], f"each squatter one spot, nobody two: {lines}"
    for spot, (k,) in where.items():
        got = room.sessions[spot].scorer.summary()
        assert got["reps"] == TWO_DEPTHS[k][1], lines
        # Every picture of theirs heard (the alone count of scored frames, less a few at the start
        # before the detector found them), none of anyone else's: the class reads them as alone.
        assert alone[k]["frames_scored"] - 15 <= got["frames_scored"] <= alone[k]["frames_scored"] + 15, lines
        # Asserted for every member since her score no longer hangs on one repetition (MoveNet's goblet
        # squatter: class 69.6 against alone 83.4 before, her shallow first squat judged 0 in the class
        # and swallowed by the next alone; now each counted squat is judged, a little short of the
        # bottom a little less: docs/scoring.md "A repetition a little short").
        assert abs(got["score"] - alone[k]["score"]) <= 5, lines


def test_the_looping_clip_read_as_live_reads_it_keeps_the_jumper_at_his_spot_with_room_to_spare():
    """[class] #44 (a fresh-eyes trial, `silvergym run` looping two_people_sports2d in group mode): in
    1 of 2 live runs the jumper's new track after a loop (x 650 against 641) became spot 2 instead of
    taking spot 1 back; spot 1 kept his first play (0.0, 2 reps), spot 2 the rest. A returner takes
    a vacant spot when within half his height of where its person was last seen or stood, and at
    most 1.6x larger or smaller than its person. Measured on this clip (BlazePose, every picture):
    the spot's home, following its person 2 % a reading, followed him to the roof's edge before his
    flip (630 -> 770 px; he jumps at 634: 136 of the 195 px allowed), and its height was his
    largest reading ever (a flip read upside down, torso 172 against his usual 111, 1.32x of the
    1.6x allowed when the follower held him through it). A live box reads other pictures, and the
    margins were gone. Now the home follows where he stands still and the height is his usual
    (median) torso. Here: the real clip, played once and looped three times as a camera looping the
    file gives it (the front reset at each play, as inference does), read as a live reader reads it
    (the newest picture whenever it is free, 15 a second with jitter, seeded), through the class
    code the scoring service and `score` drive (ClassSession). Each return is asserted with a
    margin: within a quarter of his height of the spot's home and within 1.25x of its height."""
    import numpy as np

    from common.cli.score import people_in
    from common.coach import routine as routines
    from common.coach.session import ClassSession, newest_reads
    from common.coach.spots import centre_x, usual_torso
    from common.media import read_frames
    from models import catalog
    from models.group import GroupEstimator

    plays, fps = 4, 30.0
    frames = [bgr for _, _, bgr in read_frames(str(media_file(CLIP)))]
    n = len(frames)
    try:
        front = GroupEstimator("blazepose-full")
    except catalog.ModelError as exc:
        pytest.skip(f"{exc} (make test fetches it)")
    room = ClassSession(routines.load("arm_raise"), 4)
    book = room.roll.book
    joins, xs, last_play = [], {}, 0
    for k in newest_reads(plays * n, fps, 15.0, np.random.default_rng(1)):
        if k // n != last_play:
            front.reset()  # a looping file's next play is a new source (services/inference.py)
            last_play = k // n
        people = people_in(front, frames[k % n], k / fps)
        homes, heights, before = dict(book.spots.homes), dict(book.spots.heights), dict(book.tracks)
        usual = {track: 3 * usual_torso(tryout.hips) for track, tryout in book.tryouts.items()}  # a body's height
        room.update(k / fps, people)
        for track, _, _, _ in people:
            xs.setdefault(track, []).append(centre_x(next(c for tr, c, _, _ in people if tr == track)))
        for track, common, _, _ in people:
            spot = book.tracks.get(track)
            if spot is None or before.get(track) == spot:
                continue
            height = usual.get(track) or book.spots.heights[spot]  # his usual height as he came back
            was = heights.get(spot, height)  # the spot's person's, as the spot held it
            joins.append(dict(play=k // n + 1, picture=k % n, track=track, spot=spot, x=centre_x(common),
                              home=homes.get(spot), gap=abs(centre_x(common) - homes[spot]) if spot in homes else 0.0,
                              height=height, ratio=max(height, was) / max(min(height, was), 1e-6)))
    play_s = n / fps
    per_play = {spot: [sum(1 for c in person.scorer.reps.counters.values() for m in c.middles
                           if p * play_s <= m < (p + 1) * play_s) for p in range(plays)]
                for spot, person in room.sessions.items()}
    walkers = [track for track, seen in xs.items() if seen[0] - seen[-1] > 1000]  # crossed most of the picture leftwards
    print(f"\n{CLIP}, played once and looped 3 times, read as live reads it (15 a second):")
    for j in joins:
        print(f"  play {j['play']} picture {j['picture']}: track {j['track']} at x {j['x']:.0f} -> spot {j['spot']}"
              + (f" (its home {j['home']:.0f}: {j['gap']:.0f} px away, allowed {0.5 * j['height']:.0f}; height ratio "
                 f"{j['ratio']:.2f}, allowed 1.6)" if j["home"] is not None else " (the class's first)"))
    print(f"  members {sorted(room.sessions)} (truth [1]); jacks per play {per_play} (truth {[JACKS_PER_PLAY] * plays}); "
          f"the walker's tracks {walkers} members: {[w for w in walkers if w in room.roll.admitted]} (truth none)")
    assert sorted(room.sessions) == [1], "the jumper one member, at one spot through every loop"
    assert len(joins) == plays and all(j["spot"] == 1 for j in joins), "his spot back after each loop"
    assert walkers and not [w for w in walkers if w in room.roll.admitted], "the walker never a member"
    returns = joins[1:]
    assert all(j["gap"] <= 0.25 * j["height"] for j in returns), "back within a quarter of his height of home"
    assert all(j["ratio"] <= 1.25 for j in returns), "his size as the spot knows it"
    # (Repetitions are printed, not asserted, at this rate: read 15 a second his arm swing before the
    # flip counts as a third arm raise in some plays (every picture: 2 a play, the test above).)


@pytest.fixture(scope="module")
def starting_room(tmp_path_factory):
    """COMPOSITE of real clips. A class starting: the studio's front-view jumping jacks further back
    (0.55x) at the picture's left (the TV's right: the TV mirrors it) starts at once; the gym's fast
    jumping jacks near the camera at the picture's right (the TV's left) starts 1.5 s after her; the
    same fast clip again (another person, said so) smaller, between them, starts at 6.5 s (a late
    arrival). By the rule the docs give, spot 1 is the near man (leftmost on the TV), 2 the woman,
    3 the late arrival, whatever the order their second repetitions came in."""
    studio, fast = _clip("dev/jumping_jacks_3views_studio.mp4"), _clip("dev/jumping_jacks_fast_front_gym.mp4")
    layers = [
        dict(name="studio jacks (far, 0.55x, picture's left = TV's right, starts at 0 s)", clip=studio, crop=0.45,
             height=330, floor=560, x=140),
        dict(name="fast jacks, a copy (0.6x, between them, a late arrival at 6.5 s)", clip=fast, crop=0.45, height=360,
             floor=600, x=470, late_s=6.5),
        dict(name="fast jacks (near, 1x, picture's right = TV's left, starts at 1.5 s)", clip=fast, crop=0.45,
             height=600, floor=715, x=800, late_s=1.5),
    ]
    frames = compose_room(11.0, layers)
    for layer in layers:  # each person's columns in the picture
        src = _centre_crop(layer["clip"][0][0], layer["crop"])
        layer["span"] = (layer["x"], layer["x"] + round(src.shape[1] * layer["height"] / src.shape[0]))
    return frames, layers


def test_a_class_starting_is_numbered_left_to_right_on_the_tv_and_the_roster_names_land_on_them(starting_room):
    """[class] #44 finding 2: spots were numbered in the order people became members (the woman
    starting first was spot 1 wherever she stood) while the config said "1 = leftmost as the class
    starts" and the class report "자리 순서대로". Now whoever becomes a member within START_GATHER_S
    of the class's first is numbered left to right as the TV shows them (mirrored: the picture's
    right first), a later arrival takes the next number; the roster's names land on those people.
    Through `score`'s class code (score_class: the group front, ClassSession, a PersonSession per
    spot with the roster's participant), BlazePose."""
    from common import config as configuration
    from common.cli.score import score_class as score_room
    from common.coach import routine as routines
    from models import catalog
    from models.group import GroupEstimator

    frames, layers = starting_room
    try:
        front = GroupEstimator("blazepose-full")
    except catalog.ModelError as exc:
        pytest.skip(f"{exc} (make test fetches it)")
    cfg = configuration.load(None, {
        "scoring": {"mode": "group", "roster": {"1": "kim", "2": "lee", "3": "park"}},
        "participants": {"kim": {"name": "김철수"}, "lee": {"name": "이영희"}, "park": {"name": "박민수"}}})
    room = score_room(((i / FPS, bgr) for i, bgr in enumerate(frames)), front, routines.load("arm_raise"), cfg)
    homes = room.roll.book.spots.homes
    who = {spot: next((layer["name"] for layer in layers if layer["span"][0] <= homes[spot] < layer["span"][1]), "nobody")
           for spot in room.sessions}
    truth = {1: layers[2]["name"], 2: layers[0]["name"], 3: layers[1]["name"]}
    names = {spot: room.sessions[spot].participant.name for spot in room.sessions}
    print("\nCOMPOSITE class starting (BlazePose):")
    for spot in sorted(set(who) | set(truth)):
        got = room.sessions[spot].scorer.summary() if spot in room.sessions else {}
        print(f"  spot {spot}: {who.get(spot, '-')} named {names.get(spot, '-')}, {got.get('reps', '-')} reps; truth: "
              f"{truth.get(spot, 'no spot')} named {cfg.participants[cfg.scoring.roster[spot]].name if spot in cfg.scoring.roster else '-'}")
    assert who == truth, "numbered left to right on the TV as the class starts, the late arrival next"
    assert names == {1: "김철수", 2: "이영희", 3: "박민수"}, "the roster's names on those people"
