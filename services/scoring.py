"""Scoring service: Pose → joint status against the routine → publish Score; Session and Alert.

A session starts when a person is in view (countdown first), runs for the routine's duration,
then its summary is written to the spool (durable) and published. Session and Alert records go
to the spool before the bus, so an uplink that is down or restarting loses nothing.
"""
from __future__ import annotations

import dataclasses
import json
import time
import uuid
from collections import deque
from pathlib import Path

import numpy as np

from common.bus import messages
from common.bus.service import HealthReporter, ServiceContext
from common.bus.sockets import Publisher, RateLimitedLog, Subscriber
from common.coach import MIN_POSES_PER_S, cues
from common.coach import program as programs
from common.coach import routine as routines
from common.coach.checkin import FallCheck, WaveDetector
from common.coach.fall import FallDetector, lies_down
from common.coach.framing import ADVICE, framing_record_path, remember_framing
from common.coach.keypoints import to_common, to_common_world
from common.coach.scoring import SessionScorer
from common.coach.program_session import ProgramSession
from common.coach.session import (COMPLETED, VIDEO_ENDED, ClassSession, OnePerson, PersonSession, StayGate,
                                  cut_short_by_fall)
from common.coach.spots import MEMBER_REPS, ClassRoll
from common.files import write_atomically
from common.spool import EXIT_SPOOL_UNAVAILABLE, Spool, SpoolError, SpoolFull, open_spool

CHECKPOINT_EVERY_S = 2.0
ANNOUNCE_EVERY_S = 2.0  # a running session's "start" is repeated so late joiners (a restarted TV) learn it
STRIP_REPEAT_S = 1.0  # the score's strip is sent again this often unchanged (a TV that restarts has it soon)
COOLDOWN_S = 20.0  # after a session: the summary stays on screen before a new one may start
# After a session with a fall in it the TV shows the alert (30 s), then the summary (30 s): no new
# session starts by itself before both were seen (the remote can still start one).
COOLDOWN_AFTER_ALERT_S = 60.0
ABANDON_S = 60.0  # nobody in view this long during a session: end it with what was scored
# A session ends with the first pose captured after the routine's end, or once no pose has come
# for this long after it (camera or inference gone): poses captured in time but still on their
# way through the model are scored, not dropped (a recorded participant waits for the model, and
# on a slow box runs behind the clock).
END_GRACE_S = 2.0
# A session's routine clock going back by more than this (a recorded participant's video starting
# after its held first picture): scoring starts again from the video's start.
RESTART_BACK_S = 0.3
GONE_AFTER_NS = 300_000_000  # a person not seen this long is told to the fall detector as gone
# A class: people in view this long (capture time) while no class runs nor waits after one, and
# nobody admitted: the log says why (too few pictures read, or nobody following), at most every
# NOBODY_ADMITTED_EVERY_S. Admission takes MEMBER_REPS repetitions in place (an arm raise's two
# are about 10 s) and the countdown; a candidate's readings are kept 20 s (spots.WAITING_S).
NOBODY_ADMITTED_S = 30.0
NOBODY_ADMITTED_EVERY_S = 60.0
READ_RATE_WINDOW_S = 10.0  # the pictures a second read, over this much of the latest capture time


class Sessions:
    """The session state machine: idle -> countdown/running -> idle, with the spool as outbox.

    In group mode one of these serves each spot (`spot` >= 1), its participant from the roster
    (else "spot-<n>"), and `class_clock` gives the routine clock and id its class shares."""

    def __init__(self, ctx: ServiceContext, pub: Publisher, spool: Spool, spot: int = 0, class_clock=None):
        self.ctx, self.pub, self.spool = ctx, pub, spool
        self.spot, self.class_clock, self.class_id = spot, class_clock, ""
        cfg = ctx.config.scoring
        key = (cfg.roster.get(spot) or f"spot-{spot}") if spot else cfg.participant
        participant = ctx.config.participants.get(key)
        self.participant = key
        self.tolerance_scale = participant.tolerance_scale if participant else 1.0
        self.routine = routines.for_participant(cfg.routine, participant)
        # A program of several movements ([program]): one PersonSession per part; in a class every
        # spot's session goes through the same program on the class's clock (ClassSessions).
        self.program = programs.load(cfg.program) if cfg.program else None
        self.class_room = None  # a class's spot: its ClassSession (the program's skips are the class's)
        if self.program is not None:
            self.routine = self.program.parts[0].routine
        self.part = -1
        self.session_id = ""
        self.scorer: SessionScorer | None = None
        self.person: PersonSession | None = None  # the session's code shared with `silvergym score`
        self._camera_loops = 0  # the camera's video loops when this session started
        self.fall = FallDetector()
        self._lies_of: tuple = (None, False)  # (routine, whether its instructor lies down): _routine_lies
        # Ask before calling: the question survives the session's end (a fall in its last seconds).
        self.check = FallCheck(ctx.config.scoring.fall_countdown_s)
        self.wave = WaveDetector()
        self._question: dict = {}  # the open question's alert id, session, kind, detail and time
        self._next_ask_repeat = 0.0
        self._frame_height = 0.0  # of the last pose: the detector tells leaving at the bottom from a side
        self.routine_start_ns = 0
        self.started_unix = 0.0
        self.last_seen_ns = 0
        self.last_pose_ns = 0  # when the last pose arrived (monotonic ns)
        # This session's last pose: when it was taken, and when a tick first saw it (the tick's own
        # clock: tests drive it with theirs).
        self._clock_capture_ns = self._clock_ticked_capture_ns = self._clock_arrival_ns = 0
        # The score's strip last sent, (session, strip), and when (monotonic s): _publish_score.
        self._strip_sent: tuple | None = None
        self._last_score: messages.Score | None = None  # the last one published (the final strip's is it again)
        self._strip_sent_at = 0.0
        self.idle_until = 0.0
        # One person: after a session, standing in view starts no new one (leave and come back, or the remote).
        self.stay = StayGate()
        self.alerts: list[dict] = []
        self.given: dict[str, int] = {}
        self._unsent: list[tuple[str, str, dict]] = []
        self._spool_trouble = RateLimitedLog(every_s=30.0)
        self.paused_at_ns = 0
        self._next_announce = 0.0
        # Beside the spool: a session in progress survives a crash or restart of this service.
        self.checkpoint_path = Path(str(spool.path) + (f".session-{spot}.json" if spot else ".session.json"))
        self.framing_path = framing_record_path(spool.path)
        self._next_checkpoint = 0.0
        # Beside the spool too: an open question after a suspected fall survives a restart of this
        # service (its countdown runs on from when it was asked), with or without a session.
        self.question_path = Path(str(spool.path) + (f".question-{spot}.json" if spot else ".question.json"))

    def start(self, now_ns: int) -> None:
        cfg = self.ctx.config.scoring
        self.session_id = uuid.uuid4().hex
        if self.program is not None:
            self.person = ProgramSession(self.program, participant=self.ctx.config.participants.get(self.participant),
                                         tolerance_scale=self.tolerance_scale, lag_window_s=cfg.lag_window_s)
            self.routine, self.part = self.program.parts[0].routine, 0
        else:
            self.person = PersonSession(self.routine, self.tolerance_scale, cfg.lag_window_s,
                                        participant=self.ctx.config.participants.get(self.participant))
        self.scorer = self.person.scorer
        if self.spot:  # a class's spot: a new detector per class; one person's has watched them all along
            self.fall = FallDetector()
        self.alerts = []
        # The cue keys the TV was given, in order, each with how many Scores said it (of two opposite
        # corrections for one joint the summary keeps the one said longer: cues.one_direction_per_joint).
        self.given: dict[str, int] = {}
        self.given_by_part: dict[int, dict[str, int]] = {}  # a program's, by part
        self.routine_start_ns = now_ns + int(cfg.start_delay_s * 1e9)
        if self.class_clock is not None:  # the class's one countdown and routine clock
            self.routine_start_ns, self.class_id = self.class_clock(now_ns)
            if self.program is not None and self.class_room is not None:  # a member joining after a skip skipped it too
                self.person.skipped_s, self.person.skipped = self.class_room.skipped_s, set(self.class_room.skipped)
        self.started_unix = time.time()
        self.last_seen_ns = now_ns
        self.ctx.log.info("session %s started: %s, participant %s%s", self.session_id, self._what(),
                          self.participant, f" at spot {self.spot} of class {self.class_id}" if self.spot else "")
        self._publish_session("start", {})

    def announce(self, now: float) -> None:
        if self.session_id and now >= self._next_announce:
            self._publish_session("start", {})

    def _what(self) -> str:
        """What the session goes through, for the log: the program (not its current part's routine) or the routine."""
        return f"program {self.program.name}" if self.program is not None else f"routine {self.routine.name}"

    def _publish_session(self, event: str, summary: dict) -> None:
        self._next_announce = time.monotonic() + ANNOUNCE_EVERY_S
        msg = messages.Session(seq=self.pub.next_seq("session"), t_capture_ns=time.monotonic_ns(),
                               session_id=self.session_id, event=event, routine=self.routine.name,
                               participant=self.participant, started_unix=self.started_unix,
                               summary=summary, routine_start_ns=self.routine_start_ns,
                               paused_at_ns=self.paused_at_ns, spot=self.spot, class_id=self.class_id,
                               program=self.program.name if self.program is not None else "",
                               part=self.part if self.program is not None else -1)
        self.pub.publish(msg)

    def _outbox(self, msg_id: str, kind: str, payload: dict) -> None:
        self._unsent.append((msg_id, kind, payload))
        self.flush_outbox()

    def flush_outbox(self) -> None:
        while self._unsent:
            try:
                self.spool.put(*self._unsent[0])
            except (SpoolFull, SpoolError) as exc:  # retried every loop: said at most every 30 s
                self._spool_trouble.warn("spool", f"{exc} ({len(self._unsent)} record(s) waiting)")
                return
            self._unsent.pop(0)

    def _in_class(self) -> dict:
        """Group mode: the class a record belongs to and where in it; nothing in one-person mode."""
        return {"class_id": self.class_id, "spot": self.spot} if self.spot else {}

    def _named(self, participant: str | None = None) -> dict:
        """The participant's name from this box's config, so carers see 김영희 rather than the key
        "kim" (field participant_name); nothing when the config names nobody by that key."""
        known = self.ctx.config.participants.get(participant or self.participant)
        # printable only: the collector refuses a whole record over one control character
        name = "".join(c for c in known.name if c.isprintable()).strip()[:200] if known else ""
        return {"participant_name": name} if name else {}

    def finish(self, reason: str) -> dict:
        summary = self.person.summary(reason)
        summary.update(alerts=self.alerts, ended=reason,
                       duration_s=self.program.duration_s if self.program is not None else self.routine.duration_s)
        # The carer called, or the question still open as it ends: the shared rule (session.py).
        cut_short_by_fall(summary, any(a.get("kind") == "fall" for a in self.alerts) or bool(
            self._question and self._question.get("session_id") == self.session_id), self.fall.up_since_event)
        # The corrections the TV gave, with the words of the routine's cue table (common/coach/cues.py).
        if self.program is not None:  # each part's with its own routine's words
            for entry in summary["parts"]:
                entry["corrections"] = cues.corrections(self.program.parts[entry["part"]].routine,
                                                        self.given_by_part.get(entry["part"], {}), entry.get("advice", ""))
            every_part = [c for entry in summary["parts"] for c in entry["corrections"]]
            said: dict[str, int] = {}
            for part in self.given_by_part.values():
                for key, n in part.items():
                    said[key] = said.get(key, 0) + n
            # two parts' cues may say the same; two parts' may contradict for one joint (one kept)
            summary["corrections"] = cues.one_direction_per_joint(cues.distinct_words(every_part), said)
        else:
            summary["corrections"] = cues.corrections(self.routine, self.given, summary.get("advice", ""))
        record = {"session_id": self.session_id, "participant": self.participant,
                  "routine": summary["routine"] if self.program is not None else self.routine.name,
                  "started_unix": self.started_unix, "ended_unix": time.time(), "summary": summary}
        record.update(self._in_class(), **self._named())
        self._outbox(self.session_id, "session", record)
        self._publish_final_strip(summary)
        self._publish_session("end", summary)
        self.ctx.log.info("session %s ended (%s): %s, score %.1f, %d reps, %d of %d frames scored%s", self.session_id,
                          reason, self._what(), summary["score"], summary["reps"], summary["frames_scored"], summary["frames"],
                          "" if summary.get("exercised", True) else
                          " (seen, but not measurable from the front: asked to stand side on; no score)"
                          if summary.get("seen_not_measured") else " (nobody went through the movement: no score)")
        if summary.get("too_few_poses"):  # common/coach/session.py PoseReadings: the box, not the person
            from common.media import slow_reading_fix  # (OpenCV, loaded on this rare path only)

            cam = self.ctx.config.camera
            self.ctx.log.warning(
                "session %s: the person was read only %.1f times a second (coaching needs about %.0f), too few "
                "for the score and the count to mean anything; the TV shows no score and the record says "
                "too_few_poses. The box is too busy for %s: run `silvergym doctor`, use the Coral, or %s",
                self.session_id, summary.get("poses_per_s", 0.0), MIN_POSES_PER_S, self.ctx.config.inference.model,
                slow_reading_fix(cam))
        self._note_framing(summary.get("framing"))
        self.session_id, self.scorer, self.paused_at_ns = "", None, 0  # stopped while paused: the next one runs
        self.person = None
        self.checkpoint_path.unlink(missing_ok=True)
        called = any(a.get("kind") != "fall_check" for a in self.alerts)  # an answered question called nobody
        self.idle_until = time.monotonic() + (COOLDOWN_AFTER_ALERT_S if called else COOLDOWN_S)
        if not self.spot:  # a class's spots start with the class, not by themselves
            self.stay.session_ended()
        return summary

    def _note_framing(self, framing: dict | None) -> None:
        """Say in the log, for whoever installed the box, when the movement kept leaving the picture,
        and keep it for `silvergym doctor`."""
        if not framing:
            return
        if framing["advice"]:
            self.ctx.log.warning(
                "the participant was only partly in view %.0f%% of the session (head out %.0f%%, feet %.0f%%, "
                "side %.0f%%, hips %.0f%%): %s", 100 * framing["partly_in_view"], 100 * framing["head_out"],
                100 * framing["feet_out"], 100 * framing["side_out"], 100 * framing.get("hips_out", 0.0),
                ADVICE[framing["advice"]])
        try:
            remember_framing(self.framing_path, {"ended_unix": time.time(), "routine": self.routine.name,
                                                 "framing": framing})
        except OSError as exc:
            self.ctx.log.warning("could not keep the session's framing for doctor in %s: %s", self.framing_path, exc)

    def on_pose(self, pose: messages.Pose) -> None:
        self.last_pose_ns = time.monotonic_ns()
        self._clock_capture_ns = pose.t_capture_ns
        present = len(pose.keypoints) > 0
        # One person: falls are watched whenever the camera sees, session or not (walking up to the
        # TV, the countdown, a pause, after the summary). A class's spots only within the class.
        watch_outside = not self.spot
        if self.paused_at_ns:
            if watch_outside:
                self._watch_for_falls(pose, to_common(pose.layout, pose.keypoints) if present else None)
            return
        if not self.session_id:
            self.stay.see(present, pose.t_capture_ns / 1e9)
            if (present and self.ctx.config.scoring.autostart and time.monotonic() >= self.idle_until
                    and self.stay.open  # the person who stayed after a session: not another by standing
                    and self.check.state != "asking"):  # an open question stays on the TV: no session over it
                self.start(pose.t_capture_ns)
            else:
                if watch_outside:
                    self._watch_for_falls(pose, to_common(pose.layout, pose.keypoints) if present else None)
                return
        if present:
            self.last_seen_ns = pose.t_capture_ns
        t = (pose.t_capture_ns - self.routine_start_ns) / 1e9
        if self.person.ended_by(t):  # the routine is over, or the recorded participant's video is
            self.finish(self.person.ended_by(t))
            return
        common = to_common(pose.layout, pose.keypoints) if present else None
        world = to_common_world(pose.layout, pose.world) if present else None
        # Or by less, to exactly the routine's start: the camera stamps a recorded participant's first
        # picture with the session's routine_start_ns itself. Pictures of the held picture stamped
        # less than RESTART_BACK_S past the start (the camera heard of it late, on a loaded box)
        # were scored as the performance: two_people_sports2d 235 frames and 90.3 for score's 230 and 87.3.
        if 0.0 <= t < self.person.last_t - RESTART_BACK_S or t == 0.0 < self.person.last_t:
            # The capture clock went back to the routine's start: a recorded participant whose
            # camera learnt of the session late (its first "start" was published before the camera's
            # subscription was up: ZeroMQ drops it; the repeat comes ANNOUNCE_EVERY_S later) sent its
            # held first picture past t = 0, then played the video from t = 0. What was scored of the
            # held picture is not the performance: the session's scoring starts again with the video.
            self.ctx.log.info("the recorded participant started %.1f s into the routine: scoring from its start",
                              self.person.last_t)
            self.person = (ProgramSession(self.program, self.ctx.config.participants.get(self.participant),
                                          self.tolerance_scale, self.ctx.config.scoring.lag_window_s)
                           if self.program is not None else
                           PersonSession(self.routine, self.tolerance_scale, self.ctx.config.scoring.lag_window_s,
                                         participant=self.ctx.config.participants.get(self.participant)))
            self.scorer = self.person.scorer
        frame = self.person.update(t, common, world, (pose.width, pose.height))
        if self.program is not None:
            self._publish_program_score(pose, frame, t)
        else:
            self._publish_score(pose, frame, t)
        if t < 0 and not watch_outside:  # a class's countdown: as before, spots are watched from its start
            return
        # Lying while the instructor lies (a sit-up part of a program) is the exercise, not a fall:
        # the sit-ups of ../shared/media/falls in a program's part raised "a fall is suspected" 1.3 s in.
        self._watch_for_falls(pose, common, lying_expected=self.person.lying_expected(t)
                              if self.program is not None else self._routine_lies())

    def _routine_lies(self) -> bool:
        """Whether the session's routine lies down (its instructor does), kept per routine."""
        if self._lies_of[0] is not self.routine:
            self._lies_of = (self.routine, lies_down(self.routine))
        return self._lies_of[1]

    def _watch_for_falls(self, pose, common, lying_expected: bool = False) -> None:
        """The fall detector on every pose (nobody in view too: dropping out of the bottom of the
        picture), on the capture clock; while a question is open, a wave answers it. lying_expected:
        the session's exercise lies down now (common/coach/fall.py lies_down)."""
        now = pose.t_capture_ns / 1e9
        self._frame_height = pose.height
        self.fall.lying_expected = lying_expected
        event = self.fall.update(now, common, pose.height)
        if event:
            self._act(self.check.on_fall(now, event.kind, event.hard, event.why), pose.t_capture_ns)
        if self.check.state == "asking" and self.wave.update(now, common, self.fall.unit):
            self._act(self.check.answer(now, "wave"), pose.t_capture_ns)

    def _act(self, action, t_capture_ns: int) -> None:
        """What the ask-before-calling state machine decided: put the question on the TV, take it
        away (answered: recorded in the session), or call the carer (the alert proper)."""
        if action is None:
            return
        if action.action == "ask":
            self.wave.reset()  # only a wave after the question answers it
            # Whose fall it is, kept with the question: after a restart someone else may stand there.
            self._question = {"alert_id": uuid.uuid4().hex, "session_id": self.session_id, "kind": self.check.kind,
                              "detail": action.why, "asked_unix": time.time(), "participant": self.participant}
            self._publish_question(t_capture_ns)
            self._keep_question()
            self.ctx.log.warning("a fall is suspected (%s): the TV asks whether %s is all right, %.0f s to answer",
                                 action.why, self.participant, self.check.countdown_s)
        elif action.action == "answered":
            q, self._question = self._question, {}
            self.question_path.unlink(missing_ok=True)
            self.alerts.append({"kind": "fall_check", "asked_unix": q["asked_unix"], "answer": action.reason,
                                "answered_unix": time.time()})
            self.pub.publish(messages.Alert(
                seq=self.pub.next_seq("alert"), t_capture_ns=t_capture_ns, alert_id=q["alert_id"],
                session_id=q["session_id"], kind="fall", detail=q["detail"], unix=time.time(), spot=self.spot,
                stage="answered", answer=action.reason, asked_unix=q["asked_unix"]))
            self.ctx.log.info("the question after a suspected fall was answered (%s): nobody is called", action.reason)
        else:
            q, self._question = self._question, {}
            self.question_path.unlink(missing_ok=True)
            self._alert("fall", t_capture_ns, action.why, action.reason, q.get("asked_unix", 0.0), action.on_floor,
                        q.get("alert_id"), session_id=q.get("session_id"), participant=q.get("participant"))
            if not self.session_id:  # called between sessions: the alert stays on the TV, no session over it
                self.idle_until = max(self.idle_until, time.monotonic() + COOLDOWN_AFTER_ALERT_S)

    def _keep_question(self) -> None:
        """Write the open question beside the spool (see resume)."""
        if not self.spool.durable:
            return
        state = {**self._question, "why": self.check.why, "countdown_s": self.check.countdown_s}
        try:
            write_atomically(self.question_path, json.dumps(state))
        except OSError as exc:
            self.ctx.log.warning("could not keep the open question %s: %s", self.question_path, exc)

    def _resume_question(self) -> None:
        """The question a previous run of this service left open: asked again with the time it has
        left (by the wall clock since it was asked; none left: the next tick calls the carer, whose
        alert says when it was asked). The same alert id, so the carer is called once."""
        try:
            q = json.loads(self.question_path.read_text())
            asked_unix = float(q["asked_unix"])
            question = {"alert_id": str(q["alert_id"]), "session_id": str(q.get("session_id", "")),
                        "kind": str(q.get("kind", "fall")), "detail": str(q.get("detail", "")),
                        "asked_unix": asked_unix}
            if q.get("participant"):  # a file from before it was kept: whoever is here now, as before
                question["participant"] = str(q["participant"])
        except FileNotFoundError:
            return
        except (OSError, ValueError, KeyError, TypeError) as exc:
            self.ctx.log.warning("the open question %s could not be read (%s): dropped", self.question_path, exc)
            self.question_path.unlink(missing_ok=True)
            return
        now = time.monotonic()
        self.check.state, self.check.kind, self.check.why = "asking", question["kind"], str(q.get("why", ""))
        self.check.asked_t = now - max(0.0, time.time() - asked_unix)
        self._question = question
        self.wave.reset()
        self.ctx.log.warning("a question after a suspected fall was open before this service restarted "
                             "(asked %.0f s ago): the TV asks again", time.time() - asked_unix)
        self._publish_question(time.monotonic_ns())

    def _publish_question(self, t_capture_ns: int) -> None:
        """The open question with its time left; repeated, so a TV that (re)starts meanwhile shows it."""
        q = self._question
        self._next_ask_repeat = time.monotonic() + ANNOUNCE_EVERY_S
        self.pub.publish(messages.Alert(
            seq=self.pub.next_seq("alert"), t_capture_ns=t_capture_ns, alert_id=q["alert_id"],
            session_id=q["session_id"], kind="fall", detail=q["detail"], unix=time.time(), spot=self.spot,
            stage="asking", countdown_s=round(self.check.remaining(t_capture_ns / 1e9), 1), asked_unix=q["asked_unix"]))

    def _publish_program_score(self, pose, at, t: float) -> None:
        """A program's frame: the current part's verdict (none while resting), the program's place."""
        if at.part != self.part:
            self.part, self.routine, self.scorer = at.part, self.program.parts[at.part].routine, self.person.scorer
            self._publish_session("start", {})  # the TV hears of the new part at once
        program = {"program": self.program.name, "part": at.part, "resting_s": min(at.resting_s, 600.0),
                   "part_t_s": at.part_t_s}
        frame = at.frame
        if frame is not None:
            if frame.guidance:
                said = self.given_by_part.setdefault(at.part, {})
                said[frame.guidance] = said.get(frame.guidance, 0) + 1
            self._publish_score(pose, frame, t, progress=at.progress, **program)
            return
        self.pub.publish(messages.Score(
            seq=self.pub.next_seq("score"), t_capture_ns=pose.t_capture_ns, frame_id=pose.frame_id,
            session_id=self.session_id, routine=self.routine.name, joint_status={}, joint_error_deg={},
            verdict="none", reps=0, score=0.0, progress=at.progress, routine_t_s=round(max(t, -86400.0), 4),
            spot=self.spot, scored=False, track=pose.track, **program))

    def _publish_final_strip(self, summary: dict) -> None:
        """A single routine's strip as the summary judged it, sent before the session's end: the
        running score judges the last repetition before its last pictures are in, and the summary
        may settle a second otherwise (lateral raises, live: the strip's second 6 green, the
        summary's unjudged); the TV's strip ends as the record's, not as the last guess. The last
        Score again with that strip, its verdict none (a frame's verdict is counted once, in the
        TV's and the bus's frame strips); a Score of its own (not scored, the summary's figures) was
        read by the demo as the running score of the last repetition, '-'."""
        strip = summary.get("timeline") or ""
        last = self._last_score
        if (self.program is not None or not strip or last is None or last.session_id != self.session_id
                or (self.session_id, strip) == self._strip_sent):
            return
        self._strip_sent = (self.session_id, strip)
        self.pub.publish(dataclasses.replace(last, seq=self.pub.next_seq("score"), verdict="none", judged_strip=strip))

    def _publish_score(self, pose, frame, t: float, progress: float | None = None, **program) -> None:
        if frame.guidance:
            self.given[frame.guidance] = self.given.get(frame.guidance, 0) + 1
        # A single routine's strip as the score judges it ([truth]): when it changes, and once a second
        # so that a TV (re)started meanwhile has it; a program's parts keep the frames' strip.
        strip, now = "", time.monotonic()
        if not program and frame.strip is not None and (
                (self.session_id, frame.strip) != self._strip_sent or now - self._strip_sent_at >= STRIP_REPEAT_S):
            strip, self._strip_sent, self._strip_sent_at = frame.strip, (self.session_id, frame.strip), now
        program = {**program, "judged_strip": strip} if strip else program
        self._last_score = messages.Score(
            seq=self.pub.next_seq("score"), t_capture_ns=pose.t_capture_ns, frame_id=pose.frame_id,
            session_id=self.session_id, routine=self.routine.name, joint_status=frame.joint_status,
            joint_error_deg=frame.joint_error_deg, verdict=frame.verdict, reps=frame.reps, score=frame.score,
            progress=frame.progress if progress is None else progress, offset_s=frame.offset_s,
            guidance=frame.guidance, phase=frame.phase,
            routine_t_s=round(t, 4), spot=self.spot, scored=frame.scored, track=pose.track, **program)
        self.pub.publish(self._last_score)

    def _alert(self, kind: str, t_capture_ns: int, detail: str, answer: str, asked_unix: float, on_floor: bool,
               alert_id: str | None = None, session_id: str | None = None, participant: str | None = None) -> None:
        """Call the carer. A question's own session and participant (kept with it) name the person
        who fell, not whoever is in front of the camera when the countdown runs out."""
        alert_id = alert_id or uuid.uuid4().hex
        session_id = self.session_id if session_id is None else session_id
        participant = participant or self.participant
        if self.spot:  # say where in the room: the carers and staff know the class by its spots
            detail += f" (spot {self.spot}, {participant})"
        record = {"alert_id": alert_id, "session_id": session_id, "participant": participant,
                  "kind": kind, "detail": detail, "unix": time.time(), "answer": answer, "on_floor": bool(on_floor)}
        if asked_unix:
            record["asked_unix"] = asked_unix
        record.update(self._in_class(), **self._named(participant))
        self.alerts.append({"kind": kind, "unix": record["unix"], "answer": answer,
                            **({"asked_unix": asked_unix} if asked_unix else {})})
        self._outbox(alert_id, "alert", record)
        self.pub.publish(messages.Alert(seq=self.pub.next_seq("alert"), t_capture_ns=t_capture_ns, alert_id=alert_id,
                                        session_id=session_id, kind=kind, detail=detail, unix=record["unix"],
                                        spot=self.spot, stage="called", answer=answer, asked_unix=asked_unix))
        self.ctx.log.warning("ALERT %s: %s (participant %s) - check on the person now", kind, detail, participant)

    def on_control(self, control: messages.Control, now_ns: int) -> None:
        """Remote-control keys from the TV."""
        if control.command == "start" and not self.session_id:
            self.start(now_ns)
        elif control.command == "fall_ok":  # the remote's OK answers the TV's question
            self._act(self.check.answer(now_ns / 1e9, "remote"), now_ns)
        elif control.command == "stop" and self.session_id:
            self.finish("stopped")
        elif control.command == "skip" and self.session_id and self.program is not None and not self.paused_at_ns:
            part = self.person.skip((now_ns - self.routine_start_ns) / 1e9)  # the remote: on to the next movement
            self.ctx.log.info("session %s: part %d skipped, now part %d", self.session_id, self.part, part)

        elif control.command == "pause" and self.session_id and not self.paused_at_ns:
            self.paused_at_ns = now_ns
            self._publish_session("start", {})  # the TV freezes the instructor at this moment
        elif control.command == "resume" and self.paused_at_ns:
            # The routine clock stands still while paused.
            self.routine_start_ns += now_ns - self.paused_at_ns
            self.paused_at_ns = 0
            self._publish_session("start", {})
        elif control.command == "participant" and not self.session_id:
            self.participant = control.participant or "guest"
            known = self.ctx.config.participants.get(self.participant)
            self.tolerance_scale = known.tolerance_scale if known else 1.0
            # A participant who exercises seated does the routine's seated variant.
            if self.program is None:
                self.routine = routines.for_participant(self.ctx.config.scoring.routine, known)

    def on_camera(self, detail: dict) -> None:
        """The camera's Health about a video file: the recorded participant's video ended (its
        next frame's due time, on the session's clock), or a looping file started again."""
        loops = detail.get(messages.CAMERA_VIDEO_LOOPS, 0)
        if not self.session_id:
            self._camera_loops = loops
            return
        ended_ns = detail.get(messages.CAMERA_VIDEO_ENDED_NS, 0)
        if isinstance(ended_ns, int) and ended_ns > self.routine_start_ns and self.person.video_end_t is None:
            self.person.video_end_t = (ended_ns - self.routine_start_ns) / 1e9
        if isinstance(loops, int) and loops > self._camera_loops:
            self.person.video_looped = loops - self._camera_loops

    def save_checkpoint(self, now: float) -> None:
        if now < self._next_checkpoint or not self.spool.durable:  # no spool folder to keep it in: said once at start
            return
        self._next_checkpoint = now + CHECKPOINT_EVERY_S
        if not self.session_id:
            self.checkpoint_path.unlink(missing_ok=True)
            return
        state = {"session_id": self.session_id, "routine": self.routine.name, "participant": self.participant,
                 "tolerance_scale": self.tolerance_scale, "started_unix": self.started_unix,
                 "routine_start_ns": self.routine_start_ns, "boot_id": boot_id(), "alerts": self.alerts,
                 "scorer": self.scorer.checkpoint(), "class_id": self.class_id}
        if self.program is not None:  # every part's scorer, the skips and the cues given, by part
            state.update(program=self.program.name, scorer={}, program_state=self.person.checkpoint(),
                         given_by_part={str(k): v for k, v in self.given_by_part.items()})
        try:
            write_atomically(self.checkpoint_path, json.dumps(state))
        except OSError as exc:
            self.ctx.log.warning("could not save the session checkpoint %s: %s", self.checkpoint_path, exc)

    def resume(self) -> None:
        """Continue the session a previous run of this service left (same boot: monotonic times hold)."""
        self._resume_question()
        try:
            state = json.loads(self.checkpoint_path.read_text())
        except (OSError, ValueError):
            return
        participant = state.get("participant", self.participant)
        routine = routines.for_participant(self.ctx.config.scoring.routine, self.ctx.config.participants.get(participant))
        if self.program is not None or state.get("program"):
            self._resume_program(state, participant)
            return
        if state.get("boot_id") != boot_id() or state.get("routine") != routine.name:
            self.checkpoint_path.unlink(missing_ok=True)
            return
        self.session_id, self.participant, self.routine = state["session_id"], participant, routine
        self.tolerance_scale, self.started_unix = state["tolerance_scale"], state["started_unix"]
        self.routine_start_ns, self.alerts = state["routine_start_ns"], state["alerts"]
        self.class_id = state.get("class_id", "")
        self.person = PersonSession(self.routine, self.tolerance_scale, self.ctx.config.scoring.lag_window_s,
                                    participant=self.ctx.config.participants.get(participant))
        self.scorer = self.person.scorer
        self.scorer.restore(state["scorer"])
        self.last_seen_ns = time.monotonic_ns()
        self.ctx.log.info("resumed session %s after a restart (%d frames scored so far)", self.session_id,
                          self.scorer.frames_scored)
        self._publish_session("start", {})

    def _resume_program(self, state: dict, participant: str) -> None:
        """resume() for a program's session: the same program, every part's scorer as it was."""
        if state.get("boot_id") != boot_id() or self.program is None or state.get("program") != self.program.name:
            self.checkpoint_path.unlink(missing_ok=True)
            return
        self.session_id, self.participant = state["session_id"], participant
        self.tolerance_scale, self.started_unix = state["tolerance_scale"], state["started_unix"]
        self.routine_start_ns, self.alerts = state["routine_start_ns"], state["alerts"]
        self.class_id = state.get("class_id", "")
        self.person = ProgramSession(self.program, self.ctx.config.participants.get(participant),
                                     self.tolerance_scale, self.ctx.config.scoring.lag_window_s)
        self.person.restore(state["program_state"])
        # a map key -> Scores that said it (a checkpoint from before the counts: a list, each once)
        self.given_by_part = {int(k): dict(v) if isinstance(v, dict) else dict.fromkeys(v, 1)
                              for k, v in state.get("given_by_part", {}).items()}
        self.part = self.person.current
        self.routine, self.scorer = self.person.routine, self.person.scorer
        self.last_seen_ns = time.monotonic_ns()
        self.ctx.log.info("resumed session %s after a restart (program %s, part %d)", self.session_id,
                          self.program.name, self.part)
        self._publish_session("start", {})

    def tick(self, now_ns: int) -> None:
        """Ends a session on time even when no pose arrives (camera or inference gone); the open
        question's countdown runs on, with or without poses (someone out of the picture)."""
        # Absence is measured on the capture clock (last_seen_ns is a capture time): the last pose's,
        # run on by the wall clock since it arrived. A camera's poses arrive as they are taken (this
        # is the wall clock less the pipeline's delay); a recorded participant waits for the model,
        # so under load its capture times fall behind the wall clock, and measured on the wall clock
        # a session ended "nobody in view" with the person in every picture (high_knees_side_gym,
        # run --once: 323 of 400 frames, 15 of 18 repetitions).
        if self._clock_capture_ns != self._clock_ticked_capture_ns:  # a pose came since the last tick
            self._clock_ticked_capture_ns, self._clock_arrival_ns = self._clock_capture_ns, now_ns
        clock_ns = self._clock_capture_ns + (now_ns - self._clock_arrival_ns) if self._clock_arrival_ns else now_ns
        # The question's countdown on the same clock as the question was put (the pose's capture time,
        # _watch_for_falls): on the wall clock a recorded participant's question, asked at a capture
        # time 34 s behind it under load, was called 0.02 s after it was put (situps in a program,
        # run --once: no countdown on the TV, "no_answer").
        self._act(self.check.tick(clock_ns / 1e9, self.fall.on_floor), clock_ns)
        if self.session_id and not self.paused_at_ns and self.fall.unit and clock_ns - self.last_seen_ns > GONE_AFTER_NS:
            # Not seen lately: in a class no empty pose comes for one person who is gone, so the
            # detector hears of the absence here (dropping out of the bottom of the picture).
            event = self.fall.update(clock_ns / 1e9, None, self._frame_height or None)
            if event:
                self._act(self.check.on_fall(clock_ns / 1e9, event.kind, event.hard, event.why), clock_ns)
        if self.check.state == "asking" and time.monotonic() >= self._next_ask_repeat:
            self._publish_question(clock_ns)
        if not self.session_id or self.paused_at_ns:
            return
        length_s = self.person.remaining_s if self.program is not None else self.routine.duration_s
        end_ns = self.routine_start_ns + int(length_s * 1e9)
        reason = COMPLETED
        if self.person.video_end_t is not None:  # the recorded participant's video ended first
            video_end_ns = self.routine_start_ns + int(self.person.video_end_t * 1e9)
            end_ns, reason = min(end_ns, video_end_ns), (VIDEO_ENDED if video_end_ns < end_ns else COMPLETED)
        # On the capture clock too: a recorded participant's pictures wait for the model, and on the
        # wall clock a loaded box ended its session "completed" with a third of the clip unread
        # (two_people_sports2d, run --once: 150 of 230 pictures, the routine's 42 s passed in 65 s of
        # wall time). While poses come, the pose whose time passes the end finishes it (on_pose); this
        # is for poses that stopped coming (camera or inference gone), END_GRACE_S after the last.
        if clock_ns >= end_ns and (clock_ns - max(end_ns, self._clock_capture_ns)) / 1e9 >= END_GRACE_S:
            self.finish(reason)
        elif (clock_ns - self.last_seen_ns) / 1e9 >= ABANDON_S:
            self.finish("nobody in view")


def one_persons_routine(cfg):
    """The routine one person's session starts with: the config's, or its program's first part's."""
    if cfg.program:
        return programs.load(cfg.program).parts[0].routine
    return routines.load(cfg.routine)


class ClassSessions:
    """The scoring service's sessions, one person or a class: common/coach/session.py's
    ClassSession (the class code `silvergym score` and the tests drive) admits the people in view
    and keeps a Sessions per spot, which adds the clock, the spool and the bus around its session.

    One person (scoring.mode = "one") is a class of one: OnePerson's admission, its one spot 0
    (one person's checkpoint and question files, records without class fields, as always) taken
    from the start, hearing every picture, nobody in view too; its session starts on sight (the
    Sessions' autostart) and the remote and the participant's choice go to it.

    Group mode (scoring.mode = "group"): a Sessions per spot, sharing one countdown and routine
    clock and one class id; each participant's session goes through the spool and MQTT as in
    one-person mode. Inference publishes everyone it follows (each Pose with its track, and the
    frame's number of people); the frame's people go through common/coach/spots.py's ClassRoll,
    which makes members of the people doing the routine and hands each member's readings (the
    repetition that made them one too) to their spot's session. The empty Pose (nobody) moves no
    one's session; each spot's own absence ends it by ABANDON_S like a participant alone. A Pose
    that names its spot (a source that knows it) goes to it as is."""

    def __init__(self, ctx: ServiceContext, pub: Publisher, spool: Spool):
        self.ctx, self.pub, self.spool = ctx, pub, spool
        self.alone = ctx.config.scoring.mode != "group"
        self.class_id = ""
        self._routine_start_ns = 0
        self._routine = None if self.alone else routines.load(ctx.config.scoring.routine)
        # A class through a program: one clock spanning the program, every member a ProgramSession on it.
        self._program = programs.load(ctx.config.scoring.program) if ctx.config.scoring.program and not self.alone else None
        if self._program is not None:
            self._routine = self._program.parts[0].routine
        # A class of one tells its person among several in view by the routine they start with (the
        # config's, a program's first part), as a class tells its members.
        self.room = ClassSession(self._routine, ctx.config.scoring.max_people, self._session_for,
                                 OnePerson(spot=0, routine=one_persons_routine(ctx.config.scoring)) if self.alone
                                 else ClassRoll(self._routine, ctx.config.scoring.max_people),
                                 program=self._program)
        self._frame: list[messages.Pose] = []  # the Poses of the frame being gathered
        self._spot_tracks: dict[int, int] = {}  # spot -> the track last scored there
        self._clip_started_ns = 0  # a recorded class's clip: when the camera started playing it (on_camera)
        # A class, as one person's session, runs its routine once: after it nobody starts the next
        # by going on exercising (a looping clip made a new class per routine length, each with its
        # members' second and third sessions). The next starts with the remote's start, or once the
        # room was empty for AWAY_S and someone is admitted (one person's StayGate, for the room).
        self.stay = StayGate()
        self._ended_class = ""  # the last class whose routine time was seen to be over
        # Why nobody is admitted (_note_reading): the capture times (s) of the pictures read lately,
        # since when people are in view with no class, the most in view meanwhile, when it was said.
        self._read_at: deque[float] = deque()
        self._in_view_since: float | None = None
        self._last_in_view = -1e18
        self._most_in_view = 0
        self._picture_size = (0, 0)
        self._said_unadmitted_at = -1e18
        if self.alone:  # one person's session, fall watch and remote from the start
            self.member(0)

    def _session_for(self, spot: int) -> Sessions:
        member = Sessions(self.ctx, self.pub, self.spool, spot, self.class_clock if spot else None)
        member.class_room = self.room if spot else None
        return member

    @property
    def members(self) -> dict[int, Sessions]:
        return self.room.sessions

    @property
    def roll(self):
        return self.room.roll

    @property
    def session_id(self) -> str:
        if self.alone:
            return self.members[0].session_id
        return self.class_id if any(m.session_id for m in self.members.values()) else ""

    @property
    def class_over(self) -> bool:
        """A class's routine is over and the next waits (self.stay: the remote's start, or the
        room empty for AWAY_S): whoever goes on exercising joins nothing, and the TV says so
        (Health detail messages.SCORING_CLASS_OVER) instead of "follow along and you join"."""
        return not self.alone and self.stay.held and not self.session_id

    @property
    def up_again(self) -> bool:
        """Whether everyone here is up again since their last fall event (FallDetector.up_since_event,
        True before any): the TV's fall alert gives way to the session then (Health detail
        messages.SCORING_UP_AGAIN); the carer's alert is not touched by it."""
        return all(member.fall.up_since_event for member in self.members.values())

    @property
    def routine_end_ns(self) -> int:
        """When the running class's routine ends on the capture clock: derived, never stored, so a
        skip, a resume or a restart that moves the start or the program's length moves it too."""
        return self.routine_start_ns + int(self.room.duration_s * 1e9)

    @property
    def routine_start_ns(self) -> int:
        """The running class's routine start on the capture clock (ns)."""
        return self._routine_start_ns

    @routine_start_ns.setter
    def routine_start_ns(self, ns: int) -> None:
        # The roll's t = 0 is the same moment, in seconds: moved with it, never set on its own.
        self._routine_start_ns = ns
        self.room.start_t = ns / 1e9

    def class_clock(self, now_ns: int) -> tuple[int, str]:
        """The running class's routine start and id; a new class when none runs."""
        if not self.class_id or now_ns >= self.routine_end_ns:
            self.class_id = uuid.uuid4().hex
            self.routine_start_ns = now_ns + int(self.ctx.config.scoring.start_delay_s * 1e9)
            self.room.skipped_s, self.room.skipped = 0.0, set()  # a new class: its program from the start
            self.ctx.log.info("class %s started", self.class_id)
        return self.routine_start_ns, self.class_id

    def member(self, spot: int) -> Sessions:
        return self.room.member(spot)

    def on_pose(self, pose: messages.Pose) -> None:
        if pose.spot and not self.alone:  # one person's is whoever is in view, whatever the source says
            self.member(pose.spot).on_pose(pose)
            return
        if self._frame and pose.frame_id != self._frame[0].frame_id:
            self._roll_frame()  # the last frame's Poses did not all come (the bus dropped one)
        if pose.keypoints:
            self._frame.append(pose)
            if len(self._frame) >= pose.people:
                self._roll_frame()
            return
        # Nobody in view: the followed are gone; a class of one's member hears it (its absence is
        # part of its session), a class's members only see time pass.
        self._note_class_end(pose.t_capture_ns)
        self._note_reading(pose.t_capture_ns / 1e9, 0)
        self.stay.see(False, pose.t_capture_ns / 1e9)
        heard = self.room.admit(pose.t_capture_ns / 1e9, [], nobody=pose)
        for spot, _, nobody in heard:
            self.member(spot).on_pose(nobody)
        for spot, m in self.members.items():
            if spot not in {s for s, _, _ in heard}:
                m.last_pose_ns = time.monotonic_ns()
        self._end_by_picture(pose.t_capture_ns, {s for s, _, _ in heard})

    def _end_by_picture(self, t_capture_ns: int, heard: set) -> None:
        """A picture taken past the routine's end, or past the end of a recorded class's video (its
        held last picture), ends every member's session, in the picture or not, as one person's
        ends on its first such picture (Sessions.on_pose). A member out of view heard of no picture,
        and the tick waits for the class's pictures to stop (END_GRACE_S), which a held last picture
        never does: the jumper of two_people_sports2d, who leaves the picture with his flip, ended
        "nobody in view" ABANDON_S later, at 64 s of a 7.7 s video."""
        if self.alone:
            return
        for spot, m in list(self.members.items()):
            if spot in heard or not m.session_id or m.paused_at_ns or m.person is None:
                continue
            why = m.person.ended_by((t_capture_ns - m.routine_start_ns) / 1e9)
            if why:
                m.finish(why)

    def _roll_frame(self) -> None:
        """One frame's people through the admission; each member's readings to their spot's session."""
        frame, self._frame = self._frame, []
        people = [(p.track, to_common(p.layout, p.keypoints), p) for p in frame]
        joined = set()
        heard = set()
        self._note_class_end(frame[0].t_capture_ns)
        self.stay.see(True, frame[0].t_capture_ns / 1e9)
        self._picture_size = (frame[0].width, frame[0].height)
        for spot, track, pose in self.room.admit(frame[0].t_capture_ns / 1e9, people):
            if not self._may_join(spot, frame[0].t_capture_ns):
                continue  # the class is over and the next was not started: followed, not scored
            if spot and self._spot_tracks.get(spot) != track and track not in joined:  # for whoever installs: who joined where
                joined.add(track)
                self._spot_tracks[spot] = track
                self.ctx.log.info("the person followed as track %d (at x %.0f of %d px) is spot %d of the class",
                                  track, float(np.median([k[0] for k in pose.keypoints])), pose.width, spot)
            self.member(spot).on_pose(dataclasses.replace(pose, spot=spot))
            heard.add(spot)
        self._end_by_picture(frame[0].t_capture_ns, heard)
        self._note_reading(frame[0].t_capture_ns / 1e9, max(len(frame), frame[0].people))

    def _note_reading(self, t: float, people: int) -> None:
        """For whoever installed the box (journald): a class that admits nobody while people are
        in view says why, once they were in view NOBODY_ADMITTED_S with no class running nor
        waiting after one, at most every NOBODY_ADMITTED_EVERY_S. A loaded box reading too few
        pictures a second follows nobody long enough to see their repetitions (docs/scoring.md,
        a live class under load: 8.5 a second with gaps of 1.6 s made no member of the jumper,
        17 did); MIN_POSES_PER_S is what coaching needs (doctor's too). Time: capture seconds."""
        if self.alone:
            return
        self._read_at.append(t)
        while self._read_at[0] < t - READ_RATE_WINDOW_S:
            self._read_at.popleft()
        if people:
            self._last_in_view = t
        if self.session_id or self.stay.held or (not people and t - self._last_in_view >= self.stay.away_s):
            self._in_view_since, self._most_in_view = None, 0  # a class runs or waits, or the room is empty
            return
        if people and self._in_view_since is None:
            self._in_view_since = t
        if self._in_view_since is None:
            return
        self._most_in_view = max(self._most_in_view, people)
        waited = t - self._in_view_since
        if waited < NOBODY_ADMITTED_S or t - self._said_unadmitted_at < NOBODY_ADMITTED_EVERY_S:
            return
        self._said_unadmitted_at = t
        span = self._read_at[-1] - self._read_at[0]
        rate = (len(self._read_at) - 1) / span if span > 0 else 0.0
        who = f"{self._most_in_view} {'person' if self._most_in_view == 1 else 'people'} in view for {waited:.0f} s"
        if rate < MIN_POSES_PER_S:
            from common.media import slow_reading_fix  # (OpenCV, loaded on this rare path only)

            self.ctx.log.warning(
                "%s and nobody admitted to the class: inference reads %.1f pictures a second; a class needs "
                "about %.0f to follow each person and see their repetitions (%d in place make a member): use "
                "the Coral, fewer people in view (scoring.max_people, now %d) or %s", who, rate, MIN_POSES_PER_S,
                MEMBER_REPS, self.ctx.config.scoring.max_people, slow_reading_fix(self.ctx.config.camera, self._picture_size))
        else:
            self.ctx.log.warning(
                "%s and nobody admitted to the class, at %.1f pictures a second (enough): nobody followed the "
                "routine in place; %d of its repetitions done in place make a member (a passer-by, someone "
                "watching or an instructor facing the class is not)", who, rate, MEMBER_REPS)

    def _note_class_end(self, t_capture_ns: int) -> None:
        """A picture past the class's routine: that class is over, and the next waits (self.stay)."""
        if not self.alone and self.class_id and t_capture_ns >= self.routine_end_ns and self._ended_class != self.class_id:
            self._ended_class = self.class_id
            self.stay.session_ended()
            self.ctx.log.info("class %s is over: the next starts with the remote's start, or once the room was "
                              "empty for %.0f s", self.class_id, self.stay.away_s)

    def _may_join(self, spot: int, t_capture_ns: int) -> bool:
        """Whether a member's picture may go to their session: always while it runs or the class
        does (a late joiner joins it); a session that would start a new class only once the gate is open."""
        m = self.room.sessions.get(spot)
        if m is not None and m.session_id:
            return True
        running = self.class_id and t_capture_ns < self.routine_end_ns
        return bool(running) or self.stay.open

    def on_camera(self, detail: dict) -> None:
        started_ns = detail.get(messages.CAMERA_VIDEO_STARTED_NS, 0)
        if (not self.alone and isinstance(started_ns, int) and started_ns > 0
                and started_ns != self._clip_started_ns):
            # A recorded class (camera.start_with_session): its clip plays from its start without
            # waiting for a session (nobody follows a routine in a held picture, so nobody would be
            # admitted), and the class's clock starts with it: frame 0 at the routine's t = 0, each
            # member joining as the roll admits them on the file's times, as `silvergym score`
            # reads the file.
            self._clip_started_ns = started_ns
            self.stay.held = False  # a recorded class's clip is a new class
            if self.routine_start_ns != started_ns or not self.class_id:  # (a restarted service resumed it already)
                self.class_id = uuid.uuid4().hex
            self.routine_start_ns = started_ns
            self.ctx.log.info("class %s started with the recorded class's clip", self.class_id)
        for m in self.members.values():
            m.on_camera(detail)

    def on_control(self, control: messages.Control, now_ns: int) -> None:
        if self.alone:  # the remote is one person's, the participant's choice too
            self.member(0).on_control(control, now_ns)
            return
        if control.command == "participant":
            return  # in a class the roster names the spots
        if control.command == "start" and not self.session_id:
            self.class_id = ""  # a new class; its members join as they are seen
            self.stay.held = False  # asked for: no waiting for the room to empty, nor for a cooldown
            for m in self.members.values():
                m.idle_until = 0.0
            return
        for m in self.members.values():
            m.on_control(control, now_ns)
        if control.command == "skip" and self._program is not None:
            # The staff's remote skips the part (or the rest) for the whole class: every member's
            # program moved on together (one clock), a member joining later starts past it too.
            skipping = [m.person for m in self.members.values() if m.session_id and m.person is not None]
            if skipping:
                self.room.skipped_s = max(p.skipped_s for p in skipping)
                self.room.skipped = set().union(*(p.skipped for p in skipping))
        if control.command == "resume" and self.members:  # the class clock stood still with them
            self.routine_start_ns = max(m.routine_start_ns for m in self.members.values())

    def resume(self) -> None:
        if self.alone:
            self.member(0).resume()
            return
        for path in sorted(self.spool.path.parent.glob(self.spool.path.name + ".session-*.json")):
            spot = path.name.rsplit("-", 1)[-1].removesuffix(".json")
            if spot.isdigit():
                m = self.member(int(spot))
                m.resume()
                if m.session_id and m.class_id:
                    self.class_id, self.routine_start_ns = m.class_id, m.routine_start_ns
                    if m.program is not None and m.person is not None:  # the class's skips, as its members kept them
                        self.room.skipped_s, self.room.skipped = m.person.skipped_s, set(m.person.skipped)

    def tick(self, now_ns: int) -> None:
        for m in self.members.values():
            m.tick(now_ns)

    def flush_outbox(self) -> None:
        for m in self.members.values():
            m.flush_outbox()

    def save_checkpoint(self, now: float) -> None:
        for m in self.members.values():
            m.save_checkpoint(now)

    def announce(self, now: float) -> None:
        for m in self.members.values():
            m.announce(now)


def boot_id() -> str:
    """Monotonic clocks restart with the machine; a checkpoint from another boot is not resumed."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def main(ctx: ServiceContext) -> int:
    try:
        spool = open_spool(ctx.config.uplink.spool_path, ctx.config.uplink.spool_max_rows, ctx.name, ctx.log,
                           ctx.config.bus.runtime_dir)
    except SpoolError as exc:  # a full or read-only disk: restarting later can fix it, so not a config error
        ctx.log.error("%s; this service stops and is restarted until the spool can be opened", exc)
        return EXIT_SPOOL_UNAVAILABLE
    try:
        poses = Subscriber(ctx.zmq, ctx.endpoints(), ["pose", "control", "health"])
        pub = Publisher(ctx.zmq, ctx.endpoint())
        health = HealthReporter(ctx.name, pub)
        try:
            sessions = ClassSessions(ctx, pub, spool)  # one person: a class of one
        except (routines.RoutineError, programs.ProgramError) as exc:
            ctx.log.error("%s", exc)
            return 2
        sessions.resume()
        class_over, up_again = False, True
        while not ctx.stop.is_set():
            for msg in poses.receive(timeout_ms=100):
                if msg.TOPIC == "control":
                    sessions.on_control(msg, time.monotonic_ns())
                    continue
                if msg.TOPIC == "health":  # only the camera's says anything to a session (a video file's end)
                    if msg.service == "camera":
                        sessions.on_camera(msg.detail)
                    continue
                start = time.perf_counter()
                sessions.on_pose(msg)
                health.stats.tick(time.monotonic(), (time.perf_counter() - start) * 1000)
            sessions.tick(time.monotonic_ns())
            sessions.flush_outbox()
            sessions.save_checkpoint(time.monotonic())
            sessions.announce(time.monotonic())
            if sessions.class_over != class_over:  # the TV's start screen says it at once, not up to 2 s later
                class_over = sessions.class_over
                health.due_now()
            if sessions.up_again != up_again:  # the TV's alert gives way at once when the person is up
                up_again = sessions.up_again
                health.due_now()
            health.maybe_publish(time.monotonic(), dropped=poses.dropped, malformed=poses.malformed,
                                 state="session" if sessions.session_id else "idle",
                                 detail=lambda: {"spool_depth": spool.depth(), "session_id": sessions.session_id,
                                                 messages.SCORING_CLASS_OVER: sessions.class_over,
                                                 messages.SCORING_UP_AGAIN: sessions.up_again})
        return 0
    finally:
        spool.close()
