"""Programs (#46): the faults a fresh-eyes trial found, each on real clips JOINED into an instructor
video (../shared/media/dev, one after another with OpenCV: a joined video, not a real program
recording) and a participant's recording joined again from the same clips (other bytes, another
size: a recording of its own, from the video's start). Truth from the folders' README/truth.tsv."""
from __future__ import annotations

import json

import pytest

from tests.test_program import JOINED, join_clips, silvergym

JACKS, LATERAL = JOINED[0], JOINED[2]  # 6 fast jumping jacks; 4 lateral raises, legs out of the picture


@pytest.fixture(scope="module")
def jacks_then_lateral(tmp_path_factory):
    """The fast jumping jacks then the lateral raises, joined (640x360): a two-part program built from
    it, and the participant's recording: the same two clips joined again at 480x270."""
    folder = tmp_path_factory.mktemp("jacks_lateral")
    video, participant = folder / "class.avi", folder / "participant.avi"
    starts = join_clips(video, clips=[JACKS, LATERAL])
    join_clips(participant, size=(480, 270), clips=[JACKS, LATERAL])
    out = folder / "two.json"
    r = silvergym("program", "build", str(video), "--out", str(out))
    print(r.stdout)
    assert r.returncode == 0, r.stderr
    return {"folder": folder, "video": video, "participant": participant, "starts": starts, "program": out}


def test_lateral_raises_after_another_part_count_and_score(jacks_then_lateral):
    """The trial: lateral raises counted 0 and scored 0 when the jumping jacks came before them (alone
    they counted right). The part's counter watches the 1.5 s before it (the jacks' arms hanging at
    10-15 deg) and took that as the person's own start; the raiser's arms hang at 28-33 deg between
    raises, never back there: the counter stayed out for good. Now a stay in the routine's own start
    zone after a whole excursion is a start again (reps._Counter._stays_in_the_routines_start)."""
    data = json.loads(jacks_then_lateral["program"].read_text(encoding="utf-8"))
    print("joined at", jacks_then_lateral["starts"], "parts begin", [p["start_s"] for p in data["parts"]],
          "targets", [p["reps"] for p in data["parts"]], "truth", [JACKS[2], LATERAL[2]])
    r = silvergym("program", "score", str(jacks_then_lateral["program"]), "--video",
                  str(jacks_then_lateral["participant"]), "--json")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    got = [(p["reps"], p["score"]) for p in summary["parts"]]
    print(f"truth (jacks, lateral raises) {[JACKS[2], LATERAL[2]]}; participant counted, score {got}; "
          f"program {summary['score']}")
    assert [p["reps"] for p in summary["parts"]] == [JACKS[2], LATERAL[2]]
    assert all(p["scored"] and p["score"] >= 80 for p in summary["parts"]), got


def participant_of(folder, name: str, clips) -> str:
    """A participant's recording: `clips` joined at 480x270 (a recording of its own, from its start)."""
    video = folder / f"{name}.avi"
    if not video.exists():
        join_clips(video, size=(480, 270), clips=clips)
    return str(video)


def test_a_counted_part_not_done_has_no_score_and_is_left_out_of_the_programs(jacks_then_lateral):
    """The trial: a part counted 0 was reported `scored: true`, score 0, and the program's score (57)
    averaged it in. A person who did none of a counted movement did not do it: no score (null), left
    out of the program's score, and every place that shows the part says so ("안 함" / "not done").
    The participant does the jumping jacks, then dumbbell squats where the program does lateral raises."""
    from common.central.report import movement_cells
    from common.cli.demo import program_lines
    from common.texts import load_texts

    DUMBBELL = JOINED[1]
    video = participant_of(jacks_then_lateral["folder"], "jacks_then_squats", [JACKS, DUMBBELL])
    r = silvergym("program", "score", str(jacks_then_lateral["program"]), "--video", video, "--json")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    parts = summary["parts"]
    print(f"program: jacks (truth {JACKS[2]}), lateral raises; the person did {DUMBBELL[2]} dumbbell squats instead: "
          f"{[(p['reps'], p['score'], p['scored'], p['not_scored']) for p in parts]}; program score {summary['score']}")
    assert parts[0]["reps"] == JACKS[2] and parts[0]["scored"]
    lateral = parts[1]
    assert lateral["reps"] == 0 and lateral["score"] is None and not lateral["scored"]
    assert lateral["not_scored"] == "no_repetitions" and not lateral["rested"]
    assert summary["scored_parts"] == 1 and summary["score"] == parts[0]["score"]
    lines = program_lines("participant", summary)
    print("\n".join(lines))
    assert "1 of 2 movements scored, the others left out of it" in lines[0]
    assert "not done" in lines[2] and "score 0" not in lines[2]
    for locale, word in (("ko", "안 함"), ("en", "not done")):
        cells = movement_cells(lateral, parts, load_texts(locale), locale)
        assert cells["score"] == word and cells["reps"] == "0", cells


DANCE = JOINED[6]  # dance_600.mp4: no repetitions, a timed part


@pytest.fixture(scope="module")
def jacks_then_dance(tmp_path_factory):
    """The fast jumping jacks then the dance, joined (640x360), and the program built from it."""
    folder = tmp_path_factory.mktemp("jacks_dance")
    video = folder / "class.avi"
    join_clips(video, clips=[JACKS, DANCE])
    out = folder / "dance.json"
    r = silvergym("program", "build", str(video), "--out", str(out))
    print(r.stdout)
    assert r.returncode == 0, r.stderr
    return {"folder": folder, "video": video, "program": out, "stdout": r.stdout}


def test_a_timed_part_is_never_shown_as_zero_repetitions(jacks_then_dance):
    """A part with nothing to count (a dance: no repetition rule) is timed: the command line, the
    report and the carers' page show no "0 repetitions" / "0" for it, the class line says "timed"."""
    from common.central.report import movement_cells
    from common.cli.demo import program_lines
    from common.cli.score import parts_words
    from common.texts import load_texts

    folder, out, stdout = jacks_then_dance["folder"], jacks_then_dance["program"], jacks_then_dance["stdout"]
    built = json.loads(out.read_text(encoding="utf-8"))["parts"]
    assert [p["reps"] for p in built] == [JACKS[2], None]
    assert "same_as" not in built[1], built[1]  # a timed part is never a repeat of a counted one
    assert "0 reps" not in stdout and "timed" in stdout.splitlines()[-1], stdout
    r = silvergym("program", "score", str(out), "--video", participant_of(folder, "participant", [JACKS, DANCE]), "--json")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    dance = summary["parts"][1]
    lines = program_lines("participant", summary)
    print(f"truth: jacks {JACKS[2]}, dance (no repetitions); summary parts "
          f"{[(p['reps'], p['timed'], p['score']) for p in summary['parts']]}\n" + "\n".join(lines)
          + f"\nclass line: {parts_words(summary)}")
    assert dance["timed"] and dance["reps"] == 0
    assert "repetitions" not in lines[2] and "timed" in lines[2], lines[2]
    assert parts_words(summary).endswith("Movement 2 timed") or " timed" in parts_words(summary).split(";")[-1]
    for locale in ("ko", "en"):
        cells = movement_cells(dance, summary["parts"], load_texts(locale), locale)
        assert cells["reps"] == "-", cells


def test_a_timed_part_is_scored_at_the_persons_own_lag(jacks_then_dance):
    """The trial: the dance, copied exactly, scored 97 in step and 11 done 1.5 s late (a stretch 31 -> 1),
    and became the family's weakest movement: a timed part was compared with the instructor at the
    same moment. Counted parts measure the person's lag (up to MAX_LAG_S); a timed part is now scored
    at the lag, within the same bound, at which the person matches the instructor best
    (program_session.timed_score). The participant's own recording of the join (480x270) played in
    step and 0.5-2.5 s late; the jumping jacks' count and score beside it."""
    from common.cli.routine import video_size
    from common.coach import program as programs
    from common.coach.program_session import MAX_LAG_S, timed_score
    from common.coach.session import PersonSession
    from tests.conftest import poses_of_video

    participant = participant_of(jacks_then_dance["folder"], "participant", [JACKS, DANCE])
    poses, worlds, fps = poses_of_video(participant, "blazepose-full")
    program = programs.load(str(jacks_then_dance["program"]))
    scores = {}
    for late in (0.0, 0.5, 1.5, MAX_LAG_S):
        summary = played_late(poses, worlds, fps, program, video_size(participant), late)
        jacks, dance = summary["parts"]
        scores[late] = dance["score"]
        print(f"{late:.1f} s behind: jacks {jacks['reps']} (truth {JACKS[2]}) score {jacks['score']}; dance (timed, an "
              f"exact copy) score {dance['score']} at lag {dance.get('lag_s')}; weakest part {summary['weakest_part']}")
        assert dance["timed"] and dance["scored"], dance
        assert jacks["reps"] == JACKS[2]
    # An exact copy is an exact copy however late: within a few points of its score in step (the
    # late person's dance is compared over the part less their lag, the rest heard by no part).
    assert scores[0.0] >= 80 and all(abs(s - scores[0.0]) <= 10 for s in scores.values()), scores
    # No lag makes another movement the dance: the person doing the jumping jacks through the dance's part.
    part = program.parts[1]
    person = PersonSession(part.routine)
    for k in range(int(part.duration_s * fps)):
        person.update(k / fps, poses[k], worlds[k], video_size(participant))
    other = timed_score(person.scorer, part.duration_s)
    print(f"the jumping jacks through the dance's part: {other}")
    assert other is not None and other["score"] <= 30, other


GOBLET = ("dev/squat_goblet_oblique_gym.mp4", 15.4, 6, None, "goblet squat", "squat")
SHORT_JACKS = ("dev/jumping_jacks_3views_studio.mp4", 3.3, 3, None, "jumping jacks", "arm_raise")  # 3.3 s of its front view


def test_the_build_says_which_short_movement_it_left_out(tmp_path):
    """The trial: a 3.3 s clip in the join (under MIN_PART_S, 4 s) was dropped by the build with no word.
    Goblet squats, 3.3 s of jumping jacks, side-view squats, joined: the build says, in one line, the
    stretch it left out and why."""
    video = tmp_path / "short.avi"
    starts = join_clips(video, clips=[GOBLET, SHORT_JACKS, JOINED[5]], from_s={GOBLET[0]: 3.0})
    r = silvergym("program", "build", str(video), "--out", str(tmp_path / "short.json"))
    print(f"joined at {starts} (the jacks {starts[1]:.1f}-{starts[2]:.1f} s)\n{r.stdout}{r.stderr}")
    assert r.returncode == 0, r.stderr
    notes = [line for line in r.stderr.splitlines() if "left out" in line]
    assert len(notes) == 1 and "shorter than 4 s" in notes[0], r.stderr
    a, b = (float(x) for x in notes[0].split("note: ")[1].split(" s ")[0].split("-"))
    assert abs(a - starts[1]) <= 1.0 and abs(b - starts[2]) <= 1.0, (a, b, starts)


def test_program_score_reads_the_participant_with_the_configured_model(jacks_then_lateral):
    """The trial: `program score --set inference.model=...` was silently ignored (the default model read
    the participant). Now the configured model reads them: an unknown one is refused in one line, exit 2;
    MoveNet's reading counts each part too."""
    program, video = str(jacks_then_lateral["program"]), str(jacks_then_lateral["participant"])
    r = silvergym("program", "score", program, "--video", video, "--set", "inference.model=no-such-model")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "no-such-model" in r.stderr, r.stderr
    r = silvergym("program", "score", program, "--video", video, "--set", "inference.model=movenet-lightning", "--json")
    assert r.returncode == 0, r.stderr
    got = [p["reps"] for p in json.loads(r.stdout)["parts"]]
    print(f"MoveNet: truth {[JACKS[2], LATERAL[2]]}, counted {got}")
    assert got == [JACKS[2], LATERAL[2]]


def test_a_single_routines_summary_names_its_movement():
    """A program's parts carry `movement`; a single routine's session summary does too."""
    from tests.conftest import media_file

    r = silvergym("score", "--routine", "squat", "--video", str(media_file("squats_5reps.mp4")), "--json")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    print(f"squats_5reps through squat: truth 5, reps {summary['reps']}, movement {summary.get('movement')!r}")
    assert summary["movement"] == "squat"


def test_the_demo_plays_a_participants_recording_once_from_the_programs_start(jacks_then_lateral, tmp_path):
    """The trial: `demo --program P --video V` played the participant's clip from the demo's start, 3.9 s
    before the program's first part, and looped it. Now it starts with the program and plays once, as
    `program score` reads it (measured before: jacks 3/6, lateral raises 7/4; after: 6/6, 4/4)."""
    r = silvergym("demo", "--program", str(jacks_then_lateral["program"]), "--video",
                  str(jacks_then_lateral["participant"]), cwd=tmp_path)
    lines = [line for line in r.stdout.splitlines() if line.startswith(("Program", "  1.", "  2."))]
    print(f"truth (jacks, lateral raises) {[JACKS[2], LATERAL[2]]}\n" + "\n".join(lines))
    assert r.returncode == 0, r.stderr[-2000:]
    assert f"1. 팔과 다리 운동 / Arm and leg movement: {JACKS[2]}/{JACKS[2]} repetitions" in r.stdout
    assert f"2. 팔 옆으로 들기 / Lateral raises: {LATERAL[2]}/{LATERAL[2]} repetitions" in r.stdout


SQUATS_5 = ("squats_5reps.mp4", 5.7, 5, None, "squat", "squat")  # 10 fps: each picture held 3 frames at 30


@pytest.mark.parametrize("model", ["blazepose-full", "movenet-lightning"])
def test_a_clip_of_few_pictures_a_second_begins_at_its_join(tmp_path, model):
    """The trial: the squats_5reps part began 1.3 s late (target 4 of 5). A 10 fps clip joined at 30 fps
    jumps at each of its pictures (every fast squat 0.08-0.15 of the body a step), each read as a hard
    cut; the change of movement snapped to the nearest, the first squat's jump, and the part began
    after that squat. Now it snaps to the largest jump near it: the join."""
    clips = [LATERAL, SQUATS_5, GOBLET]
    video = tmp_path / "few.avi"
    starts = join_clips(video, clips=clips, from_s={GOBLET[0]: 3.0})
    out = tmp_path / "few.json"
    r = silvergym("program", "build", str(video), "--out", str(out), "--model", model)
    assert r.returncode == 0, r.stderr
    parts = json.loads(out.read_text(encoding="utf-8"))["parts"]
    print(f"\n{model}: joined at {starts}, parts begin {[p['start_s'] for p in parts]}; "
          f"targets {[p['reps'] for p in parts]}, truth {[c[2] for c in clips]}")
    assert len(parts) == 3
    assert all(abs(p["start_s"] - s) <= 1.0 for p, s in zip(parts, starts)), (parts, starts)
    assert [p["reps"] for p in parts] == [c[2] for c in clips]


def played_late(poses, worlds, fps: float, program, size, late_s: float):
    """A recording played through `program` as `program score` plays it (from the program's first
    part), the participant `late_s` behind the instructor: the recording of the clips' own join starts
    with the video, program time 0 is the first part's start (start_s into it), so its first picture
    is held late_s - start_s (or that much of its start left out, before the first counted
    repetition); the summary."""
    from common.coach.program_session import ProgramSession
    from common.coach.session import play_recording

    n = int(round((late_s - (program.parts[0].start_s or 0.0)) * fps))
    poses, worlds = ([poses[0]] * n + list(poses), [worlds[0]] * n + list(worlds)) if n >= 0 else (poses[-n:], worlds[-n:])
    person = ProgramSession(program)
    return person.summary(play_recording(person, poses, worlds, fps, size))


def test_a_participant_behind_or_ahead_of_the_instructor_counts_each_part(jacks_then_lateral, tmp_path):
    """The trial: a participant 1.5 s behind the instructor counted 5 lateral raises of 4: the part's
    boundary was on the instructor's clock, so the last jumping jacks, done after the lateral raises
    began on the TV, counted as raises too (and judged as raises: the part's score 76 for four good
    raises). 2.5 s behind the jacks lost their last (5 of 6); 2 s ahead (the person finished early)
    the raises lost their first, done before the instructor's, 3 of 4. Now the boundary is where
    the person crosses it (the instructor's plus their lag, measured on their repetitions: program_session
    _boundary), and one excursion is one part's repetition. The participant's own recording (the
    jacks then the lateral raises joined at 480x270) is played 0.5-2.5 s late through the program
    built from the 640x360 join; ahead, through a program built from the same recording with its jacks
    slowed to 3/4 pace (each picture held longer: the instructor takes 8 s for them, the person 6 s)."""
    import cv2
    import numpy as np

    from common.cli.routine import video_size
    from common.coach import program as programs
    from tests.conftest import poses_of_video

    truth = [JACKS[2], LATERAL[2]]
    participant = jacks_then_lateral["participant"]
    poses, worlds, fps = poses_of_video(participant, "blazepose-full")
    size = video_size(str(participant))
    program = programs.load(str(jacks_then_lateral["program"]))
    wrong = []
    for late in (0.5, 1.0, 1.5, 2.0, 2.5):
        summary = played_late(poses, worlds, fps, program, size, late)
        got = [(p["reps"], p["score"]) for p in summary["parts"]]
        print(f"{late:.1f} s behind: truth {truth}, counted and scored {got}")
        if [p["reps"] for p in summary["parts"]] != truth or any(p["score"] < 90 for p in summary["parts"]):
            wrong.append((late, got))
    # Ahead: the instructor slower through the jacks than the person.
    cap = cv2.VideoCapture(str(participant))
    frames = []
    while (read := cap.read())[0]:
        frames.append(read[1])
    cap.release()
    split = int(round(JACKS[1] * fps))
    order = [int(k * 0.75) for k in range(int(split / 0.75))] + list(range(split, len(frames)))
    slow = tmp_path / "slow.avi"
    writer = cv2.VideoWriter(str(slow), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    for k in order:
        writer.write(frames[k])
    writer.release()
    cache = tmp_path / "slow_poses.npy"  # the same pictures' poses, in the slowed order: nothing read again
    np.save(cache, {"poses": np.asarray([poses[k] for k in order]), "worlds": [worlds[k] for k in order], "fps": fps},
            allow_pickle=True)
    out = tmp_path / "slow.json"
    r = silvergym("program", "build", str(slow), "--out", str(out), "--poses-cache", str(cache))
    assert r.returncode == 0, r.stderr
    slowed = programs.load(str(out))
    print(r.stdout.strip())
    assert [p.reps for p in slowed.parts] == truth
    for late in (0.2, 0.5):
        summary = played_late(poses, worlds, fps, slowed, size, late)
        # where the person starts the raises (the clip's join, on the program's clock) against the TV
        ahead = slowed.schedule()[1][0] - (JACKS[1] - (slowed.parts[0].start_s - late))
        got = [(p["reps"], p["score"]) for p in summary["parts"]]
        print(f"{late:.1f} s behind in the jacks, {ahead:.1f} s ahead at the raises: truth {truth}, counted and scored {got}")
        if [p["reps"] for p in summary["parts"]] != truth:
            wrong.append((-ahead, got))
    assert not wrong, wrong


# A new program, as a new installer would make one (#46 trial 3): clips no other program test joins,
# JOINED here (640x360; the participant's recording the same clips joined again at 480x270): the studio
# jumping jacks' oblique view (6.6-12.6 s, 6 jacks), two deep squats in a bedroom (falls/, a near miss;
# the 3.3 s clip twice: 4 squats), the side-view stretch (5 fps: forward fold, then lunges; no
# repetitions), the same jacks' side view (12.9-20.15 s, 7), the 4.2 s dancer (no repetitions), the
# bedroom squats again (4). Rows as JOINED's, with where in the clip each starts.
BEDROOM = ("falls/squats_front_bedroom.mp4", 3.33, 2, None, "squat", "squat", 0.0)
NEW = [("dev/jumping_jacks_3views_studio.mp4", 6.0, 6, None, "jumping jacks", "arm_raise", 6.6),
       BEDROOM, BEDROOM, ("stretch_side_view.mp4", 7.8, 0, None, "stretch", "", 0.0),
       ("dev/jumping_jacks_3views_studio.mp4", 7.25, 7, None, "jumping jacks", "arm_raise", 12.9),
       ("dancer.mp4", 4.2, 0, None, "dance", "", 0.0), BEDROOM, BEDROOM]


def test_a_new_program_of_six_movements_begins_each_part_at_its_join(tmp_path):
    """The trial's new program: the stretch (5 fps, a new picture every 6 frames, its fold unlike its
    lunges) after 6.7 s of squats: the change curve peaked 2.5 s into the stretch, beyond the 1.5 s
    within which a change snapped to the join's jump, and the squats' part took the stretch's first
    2.6 s (not recognised, no target: a timed part; its repeat 3 reps 'same as' it). A change now snaps
    to the largest jump within a window of it (segment.SNAP_S = WINDOW_S): the join's (0.42 of the body
    against the stretch's own pictures' 0.06-0.24). Measured here: each part's start against its join,
    the instructor's count (target) and the participant's against the clips' truth."""
    video, participant = tmp_path / "class.avi", tmp_path / "participant.avi"
    joins = join_clips(video, clips=NEW)
    join_clips(participant, size=(480, 270), clips=NEW)
    movements = [(joins[0], "jumping jacks", 6), (joins[1], "squat", 4), (joins[3], "stretch", None),
                 (joins[4], "jumping jacks", 7), (joins[5], "dance", None), (joins[6], "squat", 4)]
    out, sheet = tmp_path / "new.json", tmp_path / "new.png"
    r = silvergym("program", "build", str(video), "--out", str(out), "--preview", str(sheet))
    print(r.stdout, r.stderr)
    assert r.returncode == 0, r.stderr
    parts = json.loads(out.read_text(encoding="utf-8"))["parts"]
    # The dancer's 4.2 s is a (timed) part: its shot's joins are read from the pictures, to the frame (read
    # from the body's jumps they left 3.9 s of movement, under MIN_PART_S: it was left out with a note).
    assert "left out" not in r.stderr, r.stderr
    expected = movements
    r = silvergym("program", "score", str(out), "--video", str(participant), "--json")
    assert r.returncode == 0, r.stderr
    done = json.loads(r.stdout)["parts"]
    print(f"{'movement (truth)':16s} {'join':>6s} {'start':>6s} {'truth':>5s} {'target':>6s} {'participant':>11s} {'score':>6s}")
    for (join, movement, truth), part, person in zip(expected, parts, done):
        print(f"{movement:16s} {join:6.2f} {part['start_s']:6.2f} {truth if truth is not None else '-':>5} "
              f"{part['reps'] or '-':>6} {person['reps']:11d} {person['score'] if person['score'] is not None else '-':>6}")
    assert len(parts) == len(expected)
    assert all(abs(part["start_s"] - join) <= 1.0 for part, (join, *_) in zip(parts, expected)), parts
    # The squats' part is the squats alone, counted, and its repeat is a repeat of it.
    assert parts[1]["reps"] == 4 and done[1]["reps"] == 4, (parts[1], done[1])
    assert parts[5].get("same_as") == 1 and parts[3].get("same_as") == 0 and parts[4]["reps"] is None
    assert [parts[k]["reps"] for k in (0, 3)] == [6, 7] and done[0]["reps"] == 6
    # The stretch (a fold, then lunges: no repetitions) is timed: the instructor's one "repetition" of it
    # was a target of 1, and the participant's same clip, counted 1, scored 0 (before MIN_COUNTED_REPS).
    print(f"stretch: truth no repetitions (timed); built target {parts[2]['reps']}, participant "
          f"timed={done[2]['timed']} reps {done[2]['reps']} score {done[2]['score']}")
    assert parts[2]["reps"] is None and "same_as" not in parts[2] and done[2]["timed"], (parts[2], done[2])
    assert done[2]["score"] != 0, done[2]
    # Not met (printed above, #46 report): the participant's side-view jacks 6 of 7 (their first not
    # counted after the stretch); the last squats 3 of 4 (the join ends as he stands up from the 4th).
    assert sheet.is_file() and sheet.stat().st_size > 10_000


def test_each_frame_counts_once_in_the_programs_frames(jacks_then_lateral):
    """The trial: "1946 of 1946 frames scored" for a 1755-frame video: the program's frames were its
    parts' sum, and a frame heard by two parts (the part just ended finishing a repetition, the next
    one starting) counted twice. Now each frame counts once (scored when any part scored it). The
    participant's recording of the jacks and lateral raises played in step and 1.5 s late."""
    from common.cli.routine import video_size
    from common.coach import program as programs
    from tests.conftest import poses_of_video

    participant = jacks_then_lateral["participant"]
    poses, worlds, fps = poses_of_video(participant, "blazepose-full")
    program = programs.load(str(jacks_then_lateral["program"]))
    for late in (0.0, 1.5):
        summary = played_late(poses, worlds, fps, program, video_size(participant), late)
        played = len(poses) + int(round((late - (program.parts[0].start_s or 0.0)) * fps))
        parts = sum(p.get("frames", 0) for p in summary["parts"])
        print(f"{late:.1f} s behind: {played} frames played, the program's {summary['frames']} "
              f"({summary['frames_scored']} scored), its parts' sum {parts}")
        assert summary["frames_scored"] <= summary["frames"] <= played
        assert summary["frames"] >= max(p.get("frames", 0) for p in summary["parts"])
