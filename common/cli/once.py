"""When `silvergym run --once` may stop: not at the first session's end, but once what that session
set going has run its course, each wait bounded:

- a fall question open on the TV ("괜찮으세요?") has its outcome: answered, or the carer called
  when its countdown runs out (stopping before, the question was resumed at the next start and the
  alert sent then, late and stamped with that start's time);
- every record the session made (the session, a fall alert) is acknowledged: the uplink's spool
  empty, said after the last record was made; with the uplink offline (no broker) they stay in the
  spool for the next run, and the command says so;
- with --snapshots, the TV's summary drawn after the session's end (it comes after the question
  and the alert screen, which stay up their own time);
- in a class (group mode), every member's session of the first class to end has ended too: --once
  reports the class, each member's line (a trial saw only the first member's to end).

It reads only the bus (Session, Alert, Health), as the supervisor hears it.
"""
from __future__ import annotations

import time
from pathlib import Path

QUESTION_MARGIN_S = 5.0  # beyond a question's countdown: scoring's tick, the call's publication
ACK_WAIT_S = 15.0  # for the uplink to have every record acknowledged, after the last one was made
SUMMARY_SHOWN_S = 10.0  # for the TV's summary once the TV shows neither the question nor the alert
# Everything after the session's end (or the question's deadline): the alert screen (30 s), the
# summary and the acknowledgements fit well within it; a bus that never settles does not hold --once.
AFTER_END_AT_MOST_S = 60.0
BUSY_SCREENS = ("fall_check", "alert")  # the TV's screens that come before a summary


class OnceEnd:
    """Fed every Session, Alert and Health the supervisor hears (`observe`), asked every loop
    whether `run --once` may stop (`done`); `unfinished` says what a bound cut short. `now` is the
    monotonic clock (Health's t_capture_ns is on it too), given by tests."""

    def __init__(self, snapshot_dir: Path | None, tell=None):
        self.snapshot_dir = snapshot_dir
        self.tell = tell  # callable(line): what it is waiting for, said once each (the person at the console)
        self.told: set[str] = set()
        self.ended = None  # the first session's end (a later session's is not --once's)
        self.ended_at = 0.0
        self.ended_unix = 0.0
        self.questions: dict[str, float] = {}  # open question's alert id -> when to stop waiting (monotonic)
        self.question_deadline = 0.0  # the latest of them
        self.called: list[str] = []  # alerts that called the carer
        self.record_made_at = 0.0  # monotonic: the last record (session end, call) seen
        self.acked_at = 0.0  # monotonic: the uplink's last Health with an empty spool was sent
        self.uplink = ""  # the uplink's state: "connected" | "offline" | "" (not heard)
        self.tv_busy_at = 0.0  # monotonic: the TV last said it shows the question or the alert
        self.summary_seen = False
        self.unfinished: list[str] = []
        # Group mode: each class's members whose sessions started, and those whose sessions ended
        # (class id -> spots); --once reports the first class to end, every member of it.
        self.class_started: dict[str, set[int]] = {}
        self.class_ended: dict[str, set[int]] = {}
        self._reported: set[str] = set()  # the session ids reported (a class's members each once)

    def observe(self, msg, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        if msg.TOPIC == "session" and msg.class_id and msg.spot:
            (self.class_started if msg.event == "start" else self.class_ended).setdefault(msg.class_id, set()).add(msg.spot)
            if msg.event == "end":
                self.class_started.setdefault(msg.class_id, set()).add(msg.spot)
        if msg.TOPIC == "session" and msg.event == "end" and self.ended is None:
            self.ended, self.ended_at, self.ended_unix = msg, now, time.time()
            self.record_made_at = now
        elif msg.TOPIC == "session" and msg.event == "end" and self.reports(msg):
            self.record_made_at = now  # another member's record of the class: acknowledged too
        elif msg.TOPIC == "alert":
            self.tv_busy_at = now  # the question, or what follows it, is on the TV before any summary
            if msg.stage == "asking":
                self.questions[msg.alert_id] = now + msg.countdown_s + QUESTION_MARGIN_S
                self.question_deadline = max(self.question_deadline, self.questions[msg.alert_id])
            else:  # answered, or called
                self.questions.pop(msg.alert_id, None)
            if msg.stage == "called" and msg.alert_id not in self.called:
                self.called.append(msg.alert_id)
                self.record_made_at = now
        elif msg.TOPIC == "health" and msg.service == "uplink":
            self.uplink = msg.state
            if msg.detail.get("spool_depth") == 0:  # counted when sent: records made before it are gone
                self.acked_at = max(self.acked_at, msg.t_capture_ns / 1e9)
        elif msg.TOPIC == "health" and msg.service == "renderer" and msg.state in BUSY_SCREENS:
            self.tv_busy_at = now

    def question_open(self) -> bool:
        return bool(self.questions)

    def reports(self, msg) -> bool:
        """Whether --once reports this session's end: the first session to end, and in a class
        every member's of that class."""
        if self.ended is None or msg.event != "end":
            return False
        return msg is self.ended or msg.session_id == self.ended.session_id or bool(
            msg.class_id and msg.class_id == self.ended.class_id)

    def report_once(self, msg) -> bool:
        """reports(msg), and true only the first time for that session (an end heard twice is one)."""
        if not self.reports(msg) or msg.session_id in self._reported:
            return False
        self._reported.add(msg.session_id)
        return True

    def members_running(self) -> list[int]:
        """The spots of the first ended class whose sessions have not ended yet (none: one person)."""
        if self.ended is None or not self.ended.class_id:
            return []
        cid = self.ended.class_id
        return sorted(self.class_started.get(cid, set()) - self.class_ended.get(cid, set()))

    def done(self, now: float | None = None) -> bool:
        """Whether --once may stop now; a bound that runs out is noted in `unfinished`."""
        if self.ended is None:
            return False
        now = time.monotonic() if now is None else now
        limit = max(self.ended_at, self.question_deadline) + AFTER_END_AT_MOST_S
        running = self.members_running()  # a class's members end with its routine, within a tick or two
        if running and now < limit:
            return False
        if running:
            self._note(f"the class's session{'s' if len(running) > 1 else ''} at spot "
                       f"{', '.join(map(str, running))} had not ended: not reported")
        open_until = max(self.questions.values(), default=0.0)
        if open_until:
            if now < min(open_until, limit):
                return False
            return self._give_up("a fall question is still open on the TV (no answer and no call heard): "
                                 "it is asked again when silvergym next runs")
        acked = self.acked_at > self.record_made_at or self.uplink == "offline"
        if not acked and now < min(self.record_made_at + ACK_WAIT_S, limit):
            return False
        if self.snapshot_dir is not None and not self.summary_seen:
            self.summary_seen = summary_drawn(self.snapshot_dir, after=self.ended_unix - 1.0)
            tv_free_at = max(self.ended_at, self.tv_busy_at)
            if not self.summary_seen and now < min(tv_free_at + SUMMARY_SHOWN_S, limit):
                if self.tv_busy_at > self.ended_at:
                    self._tell("summary after alert", "the TV shows the fall alert before the session's summary: waiting for the summary "
                               f"(the alert stays up its own time; at most {max(0.0, limit - now):.0f} s more)")
                return False
        if not acked:
            self._note(f"not acknowledged by the central server within {ACK_WAIT_S:.0f} s "
                       f"(the session{' and its fall alert' if self.called else ''}): kept in the spool "
                       "and sent when silvergym next runs")
        elif self.uplink == "offline" and self.acked_at <= self.record_made_at:
            self._note(f"the uplink has no broker: the session{' and its fall alert are' if self.called else ' is'} "
                       "kept in the spool and sent when silvergym next runs")
        if self.snapshot_dir is not None and not self.summary_seen:
            self._note(f"the TV's summary was not drawn in {self.snapshot_dir}")
        return True

    def _tell(self, key: str, line: str) -> None:
        """Says `line` once per `key` (a wait's remaining time changes its words, not its key)."""
        if self.tell is not None and key not in self.told:
            self.told.add(key)
            self.tell(line)

    def _give_up(self, why: str) -> bool:
        self._note(why)
        return True

    def _note(self, why: str) -> None:
        if why not in self.unfinished:
            self.unfinished.append(why)


def summary_drawn(folder: Path, after: float) -> bool:
    """Whether the renderer wrote a snapshot of the summary screen (<unix ms>_summary.png) after
    `after` (unix seconds)."""
    return any(int(f.name.split("_", 1)[0]) >= after * 1000 for f in folder.glob("*_summary.png")
               if f.name.split("_", 1)[0].isdigit())
