"""[ship] (in part): what a carer or installer gets wrong — a hand-edited routine file, a report's
database or output, a broker that is not there — gets one clear line saying what is wrong and
what to do (exit 2 on the command line), never a traceback, and nothing wrong is accepted in
silence."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from common.coach import routine as routines
from tests.conftest import REPO


def squat_with(**changes) -> dict:
    data = json.loads((REPO / "common/coach/routines/squat.json").read_text(encoding="utf-8"))
    for key, value in changes.items():
        node = data
        *parents, leaf = key.split(".")
        for p in parents:
            node = node[p]
        node[leaf] = value
    return data


CASES = [
    ("malformed JSON", b'{"name": "x",', "not valid JSON at line 1"),
    ("empty file", b"", "is empty"),
    ("saved in CP949", json.dumps(squat_with(**{"title.ko": "의자"}), ensure_ascii=False).encode("cp949"),
     "not UTF-8 text .* save it as UTF-8"),
    ("duration as text", json.dumps(squat_with(duration_s="ten")).encode(), "duration_s: Input should be a valid number"),
    ("negative duration", json.dumps(squat_with(duration_s=-5)).encode(), r"duration_s: .*greater than or equal to 0 \(got -5\)"),
    ("negative tolerance", json.dumps(squat_with(**{"joints.left_knee.tolerance": -3})).encode(),
     "joints.left_knee.tolerance must be a positive"),
    ("near below tolerance", json.dumps(squat_with(**{"joints.left_knee.near": 5})).encode(),
     r"joints.left_knee.near \(5\) must not be below its tolerance"),
    ("reps on the nose", json.dumps(squat_with(**{"reps.joints": ["nose"]})).encode(),
     r"reps.joints.0: Input should be 'left_elbow', .* \(got 'nose'\)"),
    ("low above high", json.dumps(squat_with(**{"reps.low": 170})).encode(), "low below high"),
    ("unknown start", json.dumps(squat_with(**{"reps.start": "middle"})).encode(),
     r"reps.start: Input should be 'high' or 'low' \(got 'middle'\)"),
    ("a misspelt key", json.dumps(squat_with(**{"joints.left_knee": {"tolerence": 10}})).encode(),
     "joints.left_knee.tolerence: unknown key"),
    ("keyframes out of order", json.dumps(squat_with(**{"keyframes": squat_with()["keyframes"][::-1]})).encode(),
     "keyframes must be in time order"),
    ("keyframes missing", json.dumps({k: v for k, v in squat_with().items() if k != "keyframes"}).encode(),
     "field 'keyframes' is missing"),
]


@pytest.mark.parametrize("what, content, says", CASES, ids=[c[0] for c in CASES])
def test_a_bad_routine_file_is_one_line_naming_what_is_wrong(tmp_path, what, content, says):
    path = tmp_path / "mine.json"
    path.write_bytes(content)
    with pytest.raises(routines.RoutineError, match=says) as caught:
        routines.load(str(path))
    assert "\n" not in str(caught.value)


def test_a_utf8_bom_from_a_windows_editor_is_fine(tmp_path):
    path = tmp_path / "mine.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(squat_with(), ensure_ascii=False).encode("utf-8"))
    assert routines.load(str(path)).name == "squat"


def test_a_folder_instead_of_a_file(tmp_path):
    (tmp_path / "folder.json").mkdir()
    with pytest.raises(routines.RoutineError, match="is a folder"):
        routines.load(str(tmp_path / "folder.json"))


def test_the_command_line_says_it_in_one_line_with_exit_2(tmp_path):
    path = tmp_path / "mine.json"
    path.write_bytes(json.dumps(squat_with(**{"reps.start": "middle"})).encode())
    done = subprocess.run([sys.executable, "-m", "common.cli", "score", "--routine", str(path), "--video",
                           str(tmp_path / "none.mp4")], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith(f"error: {path}: reps.start: Input should be 'high' or 'low'")


def report(*argv) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "common.cli", "report", *argv], capture_output=True, text=True,
                          cwd=REPO, timeout=120)


def test_report_inputs_that_cannot_work_are_one_line_and_exit_2(tmp_path):
    """[ship] (in part): report --db to a missing file (no longer created), a file that is not a
    database, -o into a missing folder, and a participant nobody stored (the stored ones named)."""
    from common.central.collector import Store
    from tests.test_central import session_record

    store = Store(str(tmp_path / "central.db"))
    store.save("c", "d", "session", {"msg_id": "s-00000001", **session_record(1)}, 0.0)
    store.close()
    (tmp_path / "notes.txt").write_text("not a database")
    cases = [
        (["kim", "--db", str(tmp_path / "nope" / "x.db")], "no database at"),
        (["kim", "--db", str(tmp_path / "notes.txt")], "is not an SQLite database"),
        (["kim", "--db", str(tmp_path / "central.db"), "-o", str(tmp_path / "missing" / "r.html")], "does not exist"),
        (["nobody", "--db", str(tmp_path / "central.db"), "-o", str(tmp_path / "r.html")],
         "no sessions stored for 'nobody'; the participants stored are: kim"),
    ]
    for argv, says in cases:
        done = report(*argv)
        last = done.stderr.strip().splitlines()[-1]
        assert done.returncode == 2 and "Traceback" not in done.stderr and says in last, (argv, done.stderr)
    assert not (tmp_path / "nope").exists()  # nothing created by a typo


def test_collect_says_once_when_the_broker_is_not_there(tmp_path):
    """[ship] (in part): `collect` toward a port nobody serves logs one line with what to check."""
    import signal
    import time

    from common.mosquitto import free_port
    from tests.conftest import wait_for

    config = tmp_path / "c.toml"
    config.write_text(f'[collector]\nport = {free_port()}\ndb = "{tmp_path / "c.db"}"\n')
    log = tmp_path / "collect.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "common.cli", "collect", "--config", str(config)],
                                stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
    try:
        wait_for(lambda: "unreachable" in log.read_text(), 20, what="the collector to say the broker is unreachable")
        # paho retries after 1, 2 and 4 s: watch those attempts for a repeat of the line.
        end = time.monotonic() + 7
        while time.monotonic() < end and proc.poll() is None:
            time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
    said = [line for line in log.read_text().splitlines() if "unreachable" in line]
    assert len(said) == 1 and "collector.port" in said[0], log.read_text()


def test_run_and_demo_check_routine_and_video_before_starting_anything(tmp_path):
    """[ship] (in part): `run --routine nosuch` was a renderer traceback and restarts; `run/demo
    --video /nonexistent.mp4` waited forever; `demo --config bad.toml` left its broker running."""
    bad = tmp_path / "bad.toml"
    bad.write_text("[nosuch]\nkey = 1\n")
    cases = [
        (["run", "--routine", "nosuch"], "no routine 'nosuch'"),
        (["run", "--video", str(tmp_path / "none.mp4")], "no such file"),
        (["demo", "--video", str(tmp_path / "none.mp4"), "--out", str(tmp_path / "demo")], "no such file"),
        (["demo", "--config", str(bad), "--out", str(tmp_path / "demo2")], "unknown key"),
    ]
    for argv, says in cases:
        done = subprocess.run([sys.executable, "-m", "common.cli", *argv], capture_output=True, text=True,
                              cwd=REPO, timeout=60)
        assert done.returncode == 2 and says in done.stderr.strip().splitlines()[-1], (argv, done.stderr)
    assert not (tmp_path / "demo2" / "broker").exists()  # no private broker was started for a bad config


def test_doctor_reads_the_broker_password_where_the_services_get_it(tmp_path, monkeypatch):
    """`sudo silvergym doctor` logs in with the password systemd gives the services
    (/etc/silvergym/environment), not none; a value already in the environment wins."""
    from common.cli.doctor import read_service_secrets

    env = tmp_path / "environment"
    env.write_text("# written by install.sh\nSILVERGYM_MQTT_PASSWORD=from-file\nPATH=/not/ours\n"
                   "SILVERGYM_COLLECTOR_PASSWORD=kept\n")
    monkeypatch.setenv("SILVERGYM_MQTT_PASSWORD", "")  # recorded, so the value read below is undone after
    monkeypatch.delenv("SILVERGYM_MQTT_PASSWORD")
    monkeypatch.setenv("SILVERGYM_COLLECTOR_PASSWORD", "already-set")
    path_before = os.environ["PATH"]
    read_service_secrets(env)
    assert os.environ["SILVERGYM_MQTT_PASSWORD"] == "from-file"
    assert os.environ["SILVERGYM_COLLECTOR_PASSWORD"] == "already-set"
    assert os.environ["PATH"] == path_before, "only SILVERGYM_ variables are taken from the file"
    read_service_secrets(tmp_path / "absent")  # unreadable or absent: nothing happens


def silvergym(*argv, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "common.cli", *argv], capture_output=True, text=True, cwd=REPO,
                          timeout=timeout)


def test_every_command_names_a_bad_argument_in_one_line_with_exit_2(tmp_path):
    """[ship]: each of these was a traceback (or worked on after the mistake, or blamed the
    built-in defaults). Now: exit 2, no traceback, the last line names the argument and the fix."""
    notamodel = tmp_path / "notamodel.tflite"
    notamodel.write_text("hello")
    afile = tmp_path / "afile"
    afile.write_text("")
    alphapose = tmp_path / "alphapose.json"
    alphapose.write_text(json.dumps([{"image_id": "0.jpg", "keypoints": [1.0, 2.0, 0.9] * 17, "score": 2.0}]))
    coco = tmp_path / "coco.json"
    coco.write_text(json.dumps({"images": [], "annotations": []}))
    picture = tmp_path / "p.png"
    picture.write_bytes(b"")  # the model is refused before the picture is read
    cases = [
        (["bench", "--model", "nosuch"], "unknown model 'nosuch'"),
        (["score", "--routine", "squat", "--video", "x.mp4", "--model", "nosuch"], "unknown model 'nosuch'"),
        (["models", "fetch", "nosuch"], "unknown model 'nosuch'"),
        (["pose", str(picture), "--model", "movenet-lightning", "--model-path", str(notamodel)],
         "is not a TFLite model"),
        (["pose", str(picture), "--model-path", str(tmp_path)], "blazepose-full needs pose_detection.tflite"),
        (["screenshots", "--out", str(afile)], "is a file; give a folder"),
        (["routine", "build", str(tmp_path / "video.mp4"), "-o", str(tmp_path / "missing" / "x.json")],
         "does not exist; create it"),
        (["routine", "import", str(alphapose), "--format", "alphapose", "--fps", "0", "-o", str(tmp_path / "r.json")],
         "0 is not a frame rate"),
        (["routine", "import", str(alphapose), "--format", "coco", "-o", str(tmp_path / "r.json")],
         "use --format alphapose"),
        (["routine", "import", str(coco), "--format", "alphapose", "-o", str(tmp_path / "r.json")],
         "use --format coco"),
        (["doctor", "--set", "garbage"], "'garbage' is not KEY=VALUE"),
        (["doctor", "--set", "nosuch.key=1"], "config --set: nosuch: unknown key"),
        (["demo", "--set", "x", "--out", str(tmp_path / "demo")], "'x' is not KEY=VALUE"),
        (["collect", "--set", "collector.port=notaport"], "config --set: collector.port"),
    ]
    for argv, says in cases:
        done = silvergym(*argv)
        out = (done.stdout + done.stderr).strip().splitlines()
        assert done.returncode == 2 and "Traceback" not in done.stderr, (argv, done.stdout, done.stderr)
        assert out and says in out[-1], (argv, out[-1:])
    assert not (tmp_path / "demo" / "broker").exists()


def test_a_truncated_video_is_said_not_silently_scored_short(tmp_path, caplog):
    """[ship]: a clip cut short (its header still announcing every frame) is read as far as it goes,
    with one warning naming how much is missing."""
    import cv2
    import numpy as np

    from common.media import read_frames

    path = tmp_path / "full.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (160, 120))
    for i in range(60):
        writer.write(np.full((120, 160, 3), i * 4, np.uint8))
    writer.release()
    assert len(list(read_frames(str(path)))) == 60 and not caplog.records
    cut = tmp_path / "cut.avi"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    read = len(list(read_frames(str(cut))))
    assert 0 < read < 60
    said = [r.getMessage() for r in caplog.records if "truncated" in r.getMessage()]
    assert said == [f"{cut} ended after {read} of the 60 frames its header announces: the file looks truncated "
                    "(a copy cut short?); what was read is used"]


def test_a_port_that_never_answers_mqtt_is_said_by_collector_and_uplink(tmp_path):
    """[ship]: toward a port that takes the connection and never answers MQTT (a web server, a
    TLS port spoken to in plain text), collect and the uplink were silent, or said "lost the
    broker (Normal disconnection)". Now each says once what it met and what to check."""
    import signal
    import socket

    from tests.conftest import wait_for

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    port = silent.getsockname()[1]
    config = tmp_path / "c.toml"
    config.write_text(f'[bus]\nruntime_dir = "{tmp_path / "run"}"\n'
                      f'[uplink]\nport = {port}\nspool_path = "{tmp_path / "spool.db"}"\n'
                      f'[collector]\nport = {port}\ndb = "{tmp_path / "c.db"}"\n')
    logs = {name: tmp_path / f"{name}.log" for name in ("collect", "uplink")}
    procs = {}
    for name, argv in (("collect", ["collect"]), ("uplink", ["service", "uplink"])):
        with open(logs[name], "w") as out:
            procs[name] = subprocess.Popen([sys.executable, "-m", "common.cli", *argv, "--config", str(config)],
                                           stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
    held = []
    try:
        def both_said() -> bool:
            silent.settimeout(0.2)
            try:
                held.append(silent.accept()[0])  # accepted and never answered
            except socket.timeout:
                pass
            return all("never answered as an MQTT broker" in log.read_text() for log in logs.values())

        # paho gives up on a missing CONNACK after its 30 s keepalive
        wait_for(both_said, 75, 0.1, "collect and uplink to say the port does not answer MQTT")
    finally:
        for proc in procs.values():
            proc.send_signal(signal.SIGTERM)
        for proc in procs.values():
            proc.wait(10)
        for conn in held:
            conn.close()
        silent.close()
    for log in logs.values():
        lines = [line for line in log.read_text().splitlines() if "never answered" in line]
        assert len(lines) == 1 and "1883" in lines[0], log.read_text()
        assert "Normal disconnection" not in log.read_text()


def test_a_config_from_a_korean_windows_editor_is_named_or_read(tmp_path):
    """[ship]: CP949 was a UnicodeDecodeError traceback; Notepad's UTF-8 BOM was "Invalid statement"."""
    cp949 = tmp_path / "cp949.toml"
    cp949.write_bytes('[scoring]\nparticipant = "김영희"\n'.encode("cp949"))
    bom = tmp_path / "bom.toml"
    bom.write_bytes('\ufeff[scoring]\nparticipant = "김영희"\n'.encode("utf-8"))
    done = silvergym("doctor", "--config", str(cp949))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "is not UTF-8 text" in done.stdout and "save it as UTF-8" in done.stdout
    from common import config as configuration

    assert configuration.load(bom).scoring.participant == "김영희"
    with pytest.raises(configuration.ConfigError, match="is a folder"):
        configuration.load(tmp_path)


def test_a_roster_spot_that_is_not_in_the_class_or_names_nobody_known_is_one_line_with_exit_2(tmp_path):
    """[class] #44: a roster naming a key [participants] does not have, a spot beyond max_people
    (roster.9 with 4) or spot 0 was accepted silently (the spot never filled, or a stranger scored
    under a typo's name). Now the config model rejects each: one line naming the field and the fix,
    exit 2, from the file and from --set alike."""
    cfg = tmp_path / "class.toml"
    cfg.write_text('[scoring]\nmode = "group"\nmax_people = 4\n[scoring.roster]\n9 = "kim"\n'
                   '[participants.kim]\nname = "김영희"\n', encoding="utf-8")
    kim = ("--set", "participants.kim.name=김영희")
    cases = [
        (("--config", str(cfg)), f"config {cfg}: scoring.roster.9: there is no spot 9 in a class of "
                                 "scoring.max_people = 4: number the roster's spots 1 to 4"),
        (("--set", 'scoring.roster={"0": "kim"}', *kim), "config --set: scoring.roster.0: there is no spot 0"),
        (("--set", 'scoring.roster={"1": "kim"}'), "config --set: scoring.roster.1: 'kim' is not a key of "
                                                    "[participants] (known: none yet): add [participants.kim]"),
        (("--set", 'scoring.roster={"1": "kim", "2": "lee"}', *kim),
         "scoring.roster.2: 'lee' is not a key of [participants] (known: kim)"),
        (("--set", 'scoring.roster={"1": "kim", "3": "kim"}', *kim), "scoring.roster.3: 'kim' is at spot 1 too"),
    ]
    for extra, says in cases:
        done = silvergym("score", "--routine", "squat", "--video", "class.mp4", "--set", "scoring.mode=group", *extra)
        out = (done.stdout + done.stderr).strip().splitlines()
        print(f"{extra}: exit {done.returncode}, {out[-1:]}")
        assert done.returncode == 2 and "Traceback" not in done.stderr, (extra, done.stderr)
        assert len(out) == 1 and says in out[0], (extra, out)
    # (a class's: in one-person mode doctor says the roster is not used, tests/test_installer_lines.py)
    good = silvergym("doctor", "--set", "scoring.mode=group", "--set", 'scoring.roster={"1": "kim", "4": "lee"}', *kim,
                     "--set", "participants.lee.name=이순자")
    assert "scoring.roster" not in good.stdout + good.stderr, "a roster of known people at spots 1-4 is fine"


def test_an_unreachable_postgresql_is_one_line_without_its_password():
    """[ship]: collect tracebacked on an unreachable PostgreSQL; report named it with its password."""
    from common.mosquitto import free_port

    db = f"postgresql://silvergym:s3cret-pw@127.0.0.1:{free_port()}/central"
    for argv in (["report", "kim", "--set", f"collector.db={db}"], ["collect", "--set", f"collector.db={db}"]):
        done = silvergym(*argv)
        said = (done.stdout + done.stderr).strip().splitlines()
        assert done.returncode == 2 and "Traceback" not in done.stderr, (argv, done.stderr)
        assert "cannot reach the database postgresql://silvergym:***@127.0.0.1" in said[-1], said[-1:]
        assert "s3cret-pw" not in done.stdout + done.stderr


def test_every_option_of_every_command_has_help_text():
    """[ship]: `silvergym X --help` explains every option and argument."""
    import argparse

    from common.cli import build_parser

    bare = []
    for action in build_parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command, sub in action.choices.items():
                bare += [f"{command} {a.option_strings or a.dest}" for a in sub._actions
                         if a.help is None and not isinstance(a, argparse._HelpAction)]
    assert not bare, f"options without help: {bare}"
