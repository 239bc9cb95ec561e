"""[truth] What a senior and a family see, end to end on real clips through the real services (camera,
inference, scoring, renderer, uplink), a real Mosquitto and the real collector (SQLite), then the
carers' report from that store:

- every correction the TV was given (each Score.guidance on the bus) and the summary's
  `corrections` come from that routine's cue table and name a direction;
- every message every service published passes the product's own check (tests/graph.py BusTap);
- the summary reaches the TV and the central store once;
- the report of that first session has no progress words and flags left/right differences only
  for joints the routine scores.

One routine per real clip that does its movement (../shared/media and dev/; skipped without them).
"""
from __future__ import annotations

import re
import sqlite3

import pytest

from common.coach import cues
from common.coach import routine as routines
from common.mosquitto import LocalBroker, mosquitto_binary
from common.texts import load_texts
from tests.conftest import media_file, wait_for
from tests.graph import BusTap, Observer, core_model, graph_config

SERVICES = ("camera", "inference", "scoring", "renderer", "uplink")
CASES = [("squat", "squats_5reps.mp4"), ("lateral_raise", "dev/lateral_raise_waist_up_gym.mp4"),
         ("marching", "dev/high_knees_side_gym.mp4"), ("squat", "dev/squat_side_studio.mp4")]
PROGRESS = ("좋아지고", "올라가고", "내려가고", "getting better", "going up", "going down")


@pytest.mark.skipif(mosquitto_binary() is None, reason="mosquitto is not installed (make test installs it)")
@pytest.mark.parametrize("routine_name,clip_name", CASES)
def test_a_session_on_a_real_clip_tells_the_senior_and_the_family_what_is_true(tmp_path, processes, routine_name,
                                                                                clip_name):
    from common.central.report import render

    clip = media_file(clip_name)
    routine = routines.load(routine_name)
    table = cues.table(routine)
    broker = LocalBroker(workdir=str(tmp_path / "broker")).start()
    text = graph_config(tmp_path, clip, model=core_model(), routine=routine_name)
    text = text.replace("loop = true", "loop = false\nstart_with_session = true")  # one performance
    text = re.sub(r"port = \d+", f"port = {broker.port}", text)
    text += f'\n[collector]\nport = {broker.port}\ndb = "{tmp_path / "central.db"}"\n'
    procs = processes(text)
    tap = BusTap(procs.config_path)
    obs = Observer(procs.config_path)
    given: dict[str, int] = {}
    ended = []
    try:
        procs.start_command("collector", ["collect"])
        wait_for(lambda: "subscribed" in procs.log_text("collector"), 20, what="the collector subscribed")
        for name in SERVICES:
            procs.start(name)

        def heard():
            for msg in obs.sub.receive(50):
                obs.counts[msg.TOPIC] += 1
                if msg.TOPIC == "score" and msg.guidance:
                    given[msg.guidance] = given.get(msg.guidance, 0) + 1
                elif msg.TOPIC == "session" and msg.event == "end":
                    ended.append(msg)
                elif msg.TOPIC == "health":
                    obs.health[msg.service] = msg
            return ended
        wait_for(heard, 240, interval_s=0.1, what="the session's end")
        summary = ended[0].summary
        wait_for(lambda: heard() is not None and obs.health.get("renderer") is not None
                 and obs.health["renderer"].state == "summary", 30, what="the summary on the TV")
        central = sqlite3.connect(tmp_path / "central.db")
        wait_for(lambda: central.execute("SELECT COUNT(*) FROM sessions").fetchone()[0] >= 1, 30,
                 what="the session stored centrally")
        assert central.execute("SELECT COUNT(*) FROM sessions").fetchone()[0] == 1
        central.close()
    finally:
        tap.close()
        obs.close()
        procs.stop_all()
        broker.stop()
    corrections = {k: n for k, n in given.items() if cues.KEY.match(k)}
    print(f"\n{routine_name} on {clip_name}: score {summary['score']:.0f}, {summary['reps']} reps; the TV was given "
          + ", ".join(f"{k} x{n} '{table[k].ko}'" if k in table else f"{k} x{n} (NOT IN THE TABLE)"
                      for k, n in corrections.items())
          + f"; other hints {sorted(set(given) - set(corrections))}; summary corrections "
          f"{[c['key'] for c in summary.get('corrections', [])]}")
    assert tap.refused == [], tap.refused[:5]
    for key in corrections:
        assert key in table, f"{key} is not in {routine_name}'s cue table"
        assert not cues.directionless(table[key].ko, "ko") and not cues.directionless(table[key].en, "en")
    assert [c["key"] for c in summary["corrections"]] == [k for k in dict.fromkeys(given) if k in table]
    for c in summary["corrections"]:
        assert (c["ko"], c["en"]) == (table[c["key"]].ko, table[c["key"]].en)
    # The family's report of this first session.
    session = {"session_id": ended[0].session_id, "participant": "guest", "routine": routine_name,
               "started_unix": ended[0].started_unix, "ended_unix": ended[0].started_unix + 60, "summary": summary}
    texts = load_texts("ko")
    page = render("김영희", [session], [], "ko")
    for word in PROGRESS:
        assert word not in page, f"progress words after one session: {word}"
    for joint in {j for j in summary.get("range_of_motion", {}) if j not in routine.joints}:
        assert texts.get(f"joint.{joint}", joint) + "의 움직임이 반대쪽보다" not in page, f"{joint} is not scored"
