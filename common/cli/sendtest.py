"""`silvergym send-test --broker HOST:PORT`: one session and one test fall alert into a broker, as a
device would send them, and what the collector answered.

For an installer checking the central side end to end in a minute (README, "Central server"):
the session is scored for real by the coaching logic (common/coach), on a drawn participant who
follows the routine a little late and tired half way (as the demo's simulated participant does),
so it carries every field a Pi's session carries; the alert says in its detail and its `test`
field that it is a test (the carers' message says so first).
Both go to silvergym/v1/<site>/<device>/{session,alert} with QoS 1, and the command waits for the
collector's acknowledgement of each ("stored", "duplicate" or "rejected"): exit 0 only when both
were stored, 1 when the collector did not answer in time, 2 for bad arguments.
"""
from __future__ import annotations

import json
import os
import ssl
import sys
import threading
import time
import uuid

FPS = 15.0
LAG_S = 0.6  # the drawn participant follows the instructor this late
WIDTH, HEIGHT = 640, 480


def scored_session(routine_name: str, participant: str, name: str, now: float) -> dict:
    """A session record as services/scoring.py writes one: the real scorer over a drawn participant."""
    import numpy as np

    from common.coach import routine as routines
    from common.coach.keypoints import COCO17, to_common, to_common_world
    from common.coach.scoring import SessionScorer
    from common.coach.synthetic import pose3d, world_landmarks

    routine = routines.load(routine_name)
    scorer = SessionScorer(routine)
    frames = int(routine.duration_s * FPS)
    for i in range(frames):
        t = i / FPS
        target = routine.target(max(0.0, t - LAG_S))
        if 0.40 * routine.duration_s <= t <= 0.55 * routine.duration_s:  # tired: half the movement
            rest = routine.target(0.0)
            target = {j: rest[j] + 0.5 * (v - rest[j]) for j, v in target.items() if j in rest}
        # as the Coral's model would report the drawn body: COCO-17 points and world landmarks
        xyz = pose3d(target, center_x=WIDTH / 2, floor_y=HEIGHT * 0.95)[: len(COCO17)]
        points = np.concatenate([xyz[:, :2], np.full((len(COCO17), 1), 0.9)], axis=1)
        scorer.update(t, to_common("coco17", points), to_common_world("coco17", np.array(world_landmarks(xyz))),
                      (WIDTH, HEIGHT))
    summary = scorer.summary()
    summary.update(alerts=[], ended="finished", duration_s=routine.duration_s)
    session_id = uuid.uuid4().hex
    record = {"msg_id": session_id, "session_id": session_id, "participant": participant, "routine": routine.name,
              "started_unix": now - routine.duration_s, "ended_unix": now, "summary": summary}
    if name:
        record["participant_name"] = name
    return record


def test_alert(participant: str, name: str, session_id: str, now: float) -> dict:
    alert_id = uuid.uuid4().hex
    record = {"msg_id": alert_id, "alert_id": alert_id, "session_id": session_id, "participant": participant,
              "kind": "fall", "detail": "TEST from silvergym send-test: nobody fell", "unix": now,
              "test": True}  # carers' messages say it is a test (the added field)
    if name:
        record["participant_name"] = name
    return record


def run(args) -> int:
    from paho.mqtt import client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from common.coach import routine as routines  # before the checks: their except names its error
    from common.mosquitto import check_topic_level

    host, _, port = args.broker.rpartition(":")
    try:
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"--broker {args.broker!r} is not HOST:PORT, e.g. 127.0.0.1:1883")
        check_topic_level("--site", args.site)
        check_topic_level("--device", args.device)
        if not args.participant or not args.participant.isprintable():
            raise ValueError("--participant must be a printable key, e.g. kim")
        session = scored_session(args.routine, args.participant, args.name, time.time())
    except (ValueError, routines.RoutineError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    alert = test_alert(args.participant, args.name, session["session_id"], time.time())
    root = f"silvergym/v1/{args.site}/{args.device}"
    answers: dict[str, str] = {}
    connected = threading.Event()
    answered = threading.Event()
    refused: list[str] = []

    def on_connect(client, userdata, flags, rc, props):
        if rc.is_failure:
            refused.append(str(rc))
        else:
            client.subscribe(f"{root}/ack", qos=1)
        connected.set()

    def on_subscribe(client, userdata, mid, codes, props):
        for kind, record in (("alert", alert), ("session", session)):  # the alert first, as a device sends it
            client.publish(f"{root}/{kind}", json.dumps(record, ensure_ascii=False), qos=1)
        # and the device itself, for the devices page: online, its camera fine, no model (a test)
        now = time.time()
        client.publish(f"{root}/status", json.dumps({"state": "online", "unix": now}), qos=1)
        client.publish(f"{root}/health", json.dumps({"unix": now, "fps": FPS, "backend": "sim", "camera": "ok",
                                                     "spool_depth": 0}), qos=0)

    def on_message(client, userdata, msg):
        try:
            body = json.loads(msg.payload)
        except ValueError:
            return
        if body.get("msg_id") in (session["msg_id"], alert["msg_id"]) and body.get("result") != "notified":
            answers.setdefault(body["msg_id"], body.get("result", "?"))
            if len(answers) == 2:
                answered.set()

    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2,
                         client_id=f"silvergym-send-test-{uuid.uuid4().hex[:8]}")
    if args.username:
        client.username_pw_set(args.username, os.environ.get("SILVERGYM_MQTT_PASSWORD", ""))
    if args.cafile:
        client.tls_set(ca_certs=args.cafile, tls_version=ssl.PROTOCOL_TLS_CLIENT)
    client.on_connect, client.on_subscribe, client.on_message = on_connect, on_subscribe, on_message
    try:
        client.connect(host, int(port), keepalive=30)
    except (OSError, ssl.SSLError) as exc:
        print(f"error: cannot reach the broker {args.broker} ({exc}): is it running (make central)?", file=sys.stderr)
        return 1
    client.loop_start()
    try:
        if not connected.wait(10) or refused:
            print(f"error: the broker {args.broker} {'refused the login: ' + refused[0] if refused else 'did not answer'}"
                  "; check --username and $SILVERGYM_MQTT_PASSWORD", file=sys.stderr)
            return 1
        answered.wait(args.wait)
    finally:
        client.disconnect()
        client.loop_stop()
    shown = f"{args.name} ({args.participant})" if args.name else args.participant
    score = session["summary"]["score"]
    print(f"session of {shown} at {args.site}/{args.device}: score {score:.0f}, {session['summary']['reps']} reps: "
          f"{answers.get(session['msg_id'], 'no answer from a collector')}")
    print(f"test fall alert for {shown}: {answers.get(alert['msg_id'], 'no answer from a collector')}")
    if len(answers) < 2:
        print(f"error: no collector answered within {args.wait:.0f} s: is `silvergym collect` running on this broker "
              "(make central)?", file=sys.stderr)
        return 1
    return 0 if set(answers.values()) == {"stored"} else 1
