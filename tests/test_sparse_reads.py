"""A loaded box reads fewer pictures (issue 44, the fresh-eyes trial's finding 2): live inference reads
the newest picture whenever it is free, so at 3-6 readings a second the jumper of two_people_sports2d
scored 39.9 and 15.0 live against 72.7 offline, and 0.0 with MoveNet, the TV showing a big "0".

Pure logic, no live graph: the real clips' poses (read once per run, tests/conftest.poses_of_video)
read as such a reader reads them (common/coach/session.py newest_reads: the newest picture each
1/r s, the time of each read within +-30 %), through the session code `silvergym score` runs
(play_recording), against every picture. What the model itself reads differently from a picture when
it reads fewer (its crop follows its last answer) is not in this: the poses are those of every picture.

Measured (score / reps, jitters 0 and 1; BlazePose and MoveNet; before the counter's start fix
below, a 3-a-second reader counted 0 of squat_side_studio's 8 squats and 0 of the lateral raises):
every session the summary does not flag (too_few_poses) is within 5.2 points and one repetition of
every picture; at 15 a second every clip is within 5 points and one repetition; at 3 a second every
session is flagged, and at 8 or fewer every session that was off.
"""
from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import media_file, poses_of_video

# clip, routine, truth (the README's), models whose one-person reading follows the exerciser
CLIPS = [
    ("dev/jumping_jacks_fast_front_gym.mp4", "arm_raise", 6, ("blazepose-full", "movenet-lightning")),
    ("dev/squat_side_studio.mp4", "squat", 8, ("blazepose-full", "movenet-lightning")),
    ("dev/lateral_raise_waist_up_gym.mp4", "lateral_raise", 4, ("blazepose-full", "movenet-lightning")),
    ("dev/high_knees_side_gym.mp4", "marching", 18, ("blazepose-full", "movenet-lightning")),
    ("squats_5reps.mp4", "squat", 5, ("blazepose-full", "movenet-lightning")),
    # one person's reader follows the jumper with BlazePose (MoveNet's follows the walker: 0 reps at any rate)
    ("two_people_sports2d.mp4", "arm_raise", 2, ("blazepose-full",)),
]
RATES = (15, 10, 8, 5, 3)
SEEDS = (1,)  # one jitter per rate in CI (measured with 0, 1, 2: the figures below)
# Within this of every picture where the summary does not flag the session (measured at most 5.2:
# the jumper with BlazePose at 10 a second, 92.1 against 87.3, itself 89.9-90.8 at 15 a second).
SCORE_POINTS, REPS_OFF = 6.0, 1


def _play(clip: str, routine_name: str, model: str, rate: float | None, seed: int) -> dict:
    from common.coach import routine as routines
    from common.coach import session
    from common.cli.routine import video_size

    path = media_file(clip)
    poses, worlds, fps = poses_of_video(path, model)
    person = session.PersonSession(routines.load(routine_name))
    reads = None if rate is None else session.newest_reads(len(poses), fps, rate, np.random.default_rng(seed))
    ended = session.play_recording(person, poses, worlds, fps, video_size(str(path)), reads=reads)
    return person.summary(ended)


@pytest.mark.parametrize("model", ["blazepose-full", "movenet-lightning"])
def test_a_sparse_reading_is_as_every_picture_or_says_it_is_not(model):
    rows, unflagged_off, at_15_off, at_3_unflagged = [], [], [], []
    for clip, routine_name, truth, models in CLIPS:
        if model not in models:
            continue
        every = _play(clip, routine_name, model, None, 0)
        assert not every["too_few_poses"], f"{clip}: every picture ({every['poses_per_s']} a second) is enough"
        line = f"{clip} ({routine_name}, truth {truth}): every picture {every['score']:.1f}/{every['reps']}"
        for rate in RATES:
            for seed in SEEDS:
                s = _play(clip, routine_name, model, rate, seed)
                off = abs(s["score"] - every["score"]) > SCORE_POINTS or abs(s["reps"] - every["reps"]) > REPS_OFF
                line += (f" | {rate}/s: {s['score']:.1f}/{s['reps']} at {s['poses_per_s']}"
                         f"{' FLAGGED' if s['too_few_poses'] else ''}")
                if off and not s["too_few_poses"]:
                    unflagged_off.append((clip, rate, seed, s["score"], s["reps"]))
                if off and rate >= 15:
                    at_15_off.append((clip, seed, s["score"], s["reps"]))
                if rate <= 3 and not s["too_few_poses"]:
                    at_3_unflagged.append((clip, seed))
        rows.append(line)
    print(f"\n{model} (score/reps at the measured readings a second):\n" + "\n".join(rows))
    assert not unflagged_off, f"off from every picture and not flagged: {unflagged_off}"
    assert not at_15_off, f"at 15 readings a second off from every picture: {at_15_off}"
    assert not at_3_unflagged, f"read 3 times a second and not flagged: {at_3_unflagged}"


@pytest.mark.parametrize("model", ["blazepose-full", "movenet-lightning"])
def test_three_readings_a_second_still_count_the_squats(model):
    """The counter's own start angle is a median of at least three readings (common/coach/reps.py
    _learn_start): over half a second alone, a reader of 3 a second held one or two, the start moved
    with the person and nothing counted (squat_side_studio: 0, 0 and 4 of 8 with MoveNet, 4, 0, 0 with
    BlazePose; now 7-8 of 8)."""
    counts = [_play("dev/squat_side_studio.mp4", "squat", model, 3, seed)["reps"] for seed in (0, 1)]
    print(f"\n{model}: squat_side_studio read 3 times a second: {counts} squats (truth 8)")
    assert min(counts) >= 7


@pytest.mark.parametrize("summary, ok", [
    ({"poses_per_s": 4.2, "too_few_poses": True}, True),
    ({"poses_per_s": 30.0, "too_few_poses": False}, True),
    ({}, True),  # a session from before the fields
    ({"poses_per_s": -1.0}, False),
    ({"poses_per_s": 1e4}, False),
    ({"poses_per_s": "4"}, False),
    ({"too_few_poses": 1}, False),
])
def test_the_session_message_range_checks_the_readings(summary, ok):
    from common.bus.messages import MalformedMessage, Session, decode, encode

    msg = Session(seq=1, t_capture_ns=0, session_id="s", event="end", routine="squat", participant="guest",
                  started_unix=0.0, summary={"score": 50.0, "reps": 2, **summary})
    if ok:
        assert decode("session", encode(msg)).summary["reps"] == 2
    else:
        with pytest.raises(MalformedMessage, match="poses_per_s"):
            decode("session", encode(msg))


@pytest.mark.parametrize("locale", ["ko", "en"])
def test_the_tv_says_the_box_was_too_busy_instead_of_a_big_0(canvas, locale):
    """The trial's TV showed a big "0" for a session read 3-6 times a second. Now the summary of a
    session flagged too_few_poses shows no number (nor joint bars or strip: they are no more the
    person's), says why in plain words and tells staff what to run; a class member's column too.
    docs/screens/summary_too_few_poses_*.png is this screen."""
    import time

    from services.renderer.samples import state_for
    from services.renderer.screen import draw

    surface, fonts = canvas
    now = time.monotonic()
    for state in (state_for("summary_too_few_poses", locale, now), state_for("summary_class", locale, now)):
        if state.people_results:
            state.people_results[2] = {**state.people_results[2], "score": 0.0, "too_few_poses": True, "poses_per_s": 4.0}
        fonts.drawn = []
        draw(surface, fonts, state, now)
        fonts_drawn = fonts.drawn
        words = [d.words for d in fonts_drawn]
        fonts.drawn = None
        print(f"\n{locale}: {words}")
        assert "0" not in words, "no big 0 for a session the box read too sparsely"
        assert state.t("summary.no_score") in words
        if not state.people_results:
            said = " ".join(words)
            # Why, in the rate it read at and the rate it needs; what the senior does; what staff do
            # (doctor's and the scoring log's advice: run doctor, the Coral, a lower resolution).
            assert " ".join(state.t("summary.too_few_poses_why").format(n="4", need="15").split()) in said
            assert " ".join(state.t("summary.too_few_poses_do").split()) in said
            assert "silvergym doctor" in said and "Coral" in said
            assert not any(w.endswith("%") for w in words), "no joint figures from too few readings"
            # The count is as untrusted as the score (the CLI: "too few to trust this score or count").
            assert not any(state.t("summary.reps") in w for w in words), "no repetition count shown"
            assert not any(w.strip() == str(state.session.summary["reps"]) or w.endswith(
                f" {state.session.summary['reps']}") for w in words)
            # One calm centred column: no half of the screen left empty beside a narrow one.
            centres = [(d.box.centerx - surface.get_width() / 2) / surface.get_width() for d in fonts_drawn]
            assert max(abs(c) for c in centres) < 0.05, f"every line centred: {centres}"


def test_the_scoring_service_says_once_in_the_log_what_happened_and_what_to_do(tmp_path, caplog):
    """The scoring service (real ZeroMQ, a real spool), one person: squats_5reps' real poses (BlazePose)
    looped and read 4 times a second, as a loaded box reads them, through a whole squat session. Its
    record says too_few_poses with the rate, and the log says once what happened and what to do."""
    import logging

    from services.scoring import Sessions
    from tests.test_falls_real import _drain, _pose_message, _service

    poses, _, fps = poses_of_video(media_file("squats_5reps.mp4"), "blazepose-full")
    caplog.set_level(logging.INFO, logger="scoring")
    context, ctx, pub, sub, spool = _service(tmp_path, countdown_s=30.0)
    got: list = []
    try:
        s = Sessions(ctx, pub, spool)
        _drain(sub, got, lambda g: True, "the subscriber to connect")
        t0, k, started = 10**12, 0, ""
        while k < 4 * 200:  # 4 pictures a second, until the session ended
            t = k / 4
            s.on_pose(_pose_message(poses[int(t * fps) % len(poses)], k + 1, t0 + int(t * 1e9), 360))
            k += 1
            started = started or s.session_id
            if started and not s.session_id:
                break
        assert started and not s.session_id, "a session started and ended"
        s.flush_outbox()
        (record,) = [r.payload for r in spool.peek() if r.kind == "session"]
    finally:
        spool.close()
        pub.close()
        context.destroy(linger=0)
    summary = record["summary"]
    lines = [r.getMessage() for r in caplog.records if "times a second" in r.getMessage()]
    print(f"\nscore {summary['score']}, {summary['reps']} reps, poses_per_s {summary['poses_per_s']}, "
          f"too_few_poses {summary['too_few_poses']}; the log: {lines}")
    assert summary["too_few_poses"] is True and 3.5 <= summary["poses_per_s"] <= 4.5
    assert len(lines) == 1 and "silvergym doctor" in lines[0] and "Coral" in lines[0] and "640x480" in lines[0]


@pytest.mark.parametrize("locale", ["ko", "en"])
def test_the_report_leaves_out_a_session_read_too_sparsely_and_says_so(locale):
    """The carers' report: a session flagged too_few_poses (its 15.0 is the box's) is not in the
    average, the trend or a class's row, and the page says in plain words why and what staff do."""
    from common.central import report
    from common.texts import load_texts

    def stored(day: int, score: float, reps: int, **more) -> dict:
        return {"session_id": f"s{day:08d}", "routine": "arm_raise", "started_unix": 1_780_000_000 + day * 86400,
                "ended_unix": 1_780_000_040 + day * 86400, "spot": 1,
                "summary": {"score": score, "reps": reps, "frames": 400, "frames_scored": 400, "joints": {},
                            "range_of_motion": {}, **more}}

    sessions = [stored(0, 84.0, 5, poses_per_s=30.0, too_few_poses=False),
                stored(1, 15.0, 4, poses_per_s=3.4, too_few_poses=True), stored(2, 88.0, 6)]
    assert [report.counts_in_scores(s) for s in sessions] == [True, False, True]
    page = report.render_body(sessions, [], locale)
    t = load_texts(locale)
    period = t["report.period"].format(n=2, first="2026-05-29", last="2026-05-31", avg=86.0, latest=88.0)
    print(f"\n{locale}: {page[:400]}")
    assert t["report.too_few_poses"].format(n=1).split(" ")[0] in page and "silvergym doctor" in page
    assert "86" in page and ("2 sessions" in page or "2번" in page), period
    (row,) = report.class_rows([("site", "box", sessions[1])], t, locale)
    assert row["score"] == "-"


def test_run_and_score_print_that_a_sparse_session_is_no_result():
    """`run --once`'s line (supervisor.summary_line) and `score`'s (score.summary_text) say it too."""
    from common.bus import messages
    from common.cli.score import summary_text
    from common.cli.supervisor import summary_line

    summary = {"score": 15.0, "reps": 4, "frames": 120, "frames_scored": 120, "poses_per_s": 3.4, "too_few_poses": True,
               "joints": {}}
    line = summary_line(messages.Session(seq=1, t_capture_ns=0, session_id="s", event="end", routine="arm_raise",
                                         participant="guest", started_unix=0.0, summary=summary))
    print(f"\n{line}\n{summary_text(summary)}")
    for said in (line, summary_text(summary)):
        assert "read only 3.4 times a second: too few to trust" in said and "silvergym doctor" in said
    assert "too few" not in summary_text({**summary, "too_few_poses": False})


def test_a_program_session_says_too_few_poses_too():
    """A program's summary (common/coach/program_session.py) carries the same two fields, over the
    whole program: squats_5reps' real poses (BlazePose) through the bundled short program, every
    picture (10 a second) and read 4 times a second."""
    from common.cli.routine import video_size
    from common.coach import program as programs
    from common.coach import session
    from common.coach.program_session import ProgramSession

    path = media_file("squats_5reps.mp4")
    poses, worlds, fps = poses_of_video(path, "blazepose-full")
    out = {}
    for rate in (None, 4):
        person = ProgramSession(programs.load("short_program"))
        reads = None if rate is None else session.newest_reads(len(poses), fps, rate)
        out[rate] = person.summary(session.play_recording(person, poses, worlds, fps, video_size(str(path)), reads=reads))
    print("\n" + "; ".join(f"{r or 'every picture'}: score {s['score']}, {s['reps']} reps, {s['poses_per_s']} a second, "
                           f"too_few_poses {s['too_few_poses']}" for r, s in out.items()))
    assert out[None]["too_few_poses"] is False and 9 <= out[None]["poses_per_s"] <= 11
    assert out[4]["too_few_poses"] is True and 3.5 <= out[4]["poses_per_s"] <= 4.5


@pytest.mark.parametrize("locale", ["ko", "en"])
def test_a_programs_summary_read_too_sparsely_shows_no_score_and_reads_from_the_sofa(canvas, locale):
    """The program's summary screen read too sparsely: 'No score' instead of the program's number, no
    movement's score, bar or count (as untrusted as one routine's: screen.draw_no_score_summary, the same
    centred words why and what to do), nothing named to practise; legible by tests/test_legibility.py's rule."""
    import time

    from services.renderer.samples import state_for
    from tests.test_legibility import problems_on

    surface, fonts = canvas
    now = time.monotonic()
    state = state_for("summary_program", locale, now)
    state.session.summary.update(too_few_poses=True, poses_per_s=4.0)
    numbers = {f"{float(state.session.summary['score']):.0f}"} | {
        f"{float(p['score']):.0f}" for p in state.session.summary["parts"] if isinstance(p.get("score"), (int, float))}
    screen, problems, drawn = problems_on(surface, fonts, state, now)
    words = [d.words for d in drawn]
    print(f"\n{locale}: {words}")
    assert screen == "summary" and not problems, problems
    assert state.t("summary.no_score") in words and "silvergym doctor" in " ".join(words)
    assert " ".join(state.t("summary.too_few_poses_why").format(n="4", need="15").split()) in " ".join(words)
    assert not numbers & set(words), "no program or movement score"
    unit = state.t("exercise.reps_unit")
    assert not any(w.endswith(unit) and w[:-len(unit)].strip().isdigit() for w in words), "no movement's count"
