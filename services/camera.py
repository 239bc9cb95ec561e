"""Camera service: grab → stamp → publish Frame (latest-only).

Sources: a V4L2 device (index or /dev/videoN), a video file (paced at its fps, or unpaced for
benchmarks; once or looped) or a still image. A device that disappears is reopened with
backoff while the rest of the graph keeps running; Health says "lost" so the TV can say so.
"""
from __future__ import annotations

import os
import time

import cv2
import numpy as np

from common.bus import messages
from common.bus.framering import FrameRingWriter, RingError, ring_path, ring_pointer
from common.bus.service import HealthReporter, ServiceContext
from common.bus.sockets import Publisher, Subscriber
from common.config import CameraConfig
from common.media import SourceError, first_camera, source_kind


class FrameSource:
    """Yields (bgr, t_capture_ns) or None when a frame is not available right now."""

    def __init__(self, cfg: CameraConfig, source: str):
        self.cfg, self.source = cfg, source
        self.kind = source_kind(source)
        self.cap: cv2.VideoCapture | None = None
        self.image: np.ndarray | None = None
        self.period_s = 1.0 / cfg.fps
        self.finished = False
        self.loops = 0  # how many times a looping video file started again
        self.file_fps = 30.0  # a video file's frame rate as `silvergym score` reads it (common/media.read_frames)
        self._next_due = time.monotonic()
        self.due = self._next_due  # monotonic s the frame last read was due
        # A recorded participant keeps the file's own times even when it runs late (it waits for
        # the model): frame k is always due k periods after the routine's start. Only once the
        # session plays it (StartWithSession.poll): before, the held picture is timed like a
        # camera's, catching up with the clock: held on the file's times it fell behind the clock
        # while the search for a picture with a person waited for the model, then went out in a
        # burst, stamped later than the moment it was sent (a routine start scoring derives from it
        # could be due before the camera heard of it).
        self.file_times = False

    def open(self) -> None:
        if self.kind == "image":
            self.image = cv2.imread(self.source)
            if self.image is None:
                raise SourceError(f"cannot read image {self.source}")
            return
        if self.kind == "video" and not os.path.exists(self.source):
            raise SourceError(f"video file {self.source} does not exist")
        target = int(self.source) if self.source.isdigit() else self.source
        cap = cv2.VideoCapture(target)
        if not cap.isOpened():
            raise SourceError(f"cannot open {self.kind} {self.source}")
        if self.kind == "device":
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.cfg.width)
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.cfg.height)
            cap.set(cv2.CAP_PROP_FPS, self.cfg.fps)
        else:
            fps = cap.get(cv2.CAP_PROP_FPS)
            self.period_s = 1.0 / fps if fps and fps > 0 else self.period_s
            self.file_fps = fps or 30.0
        self.cap = cap

    def close(self) -> None:
        if self.cap is not None:
            self.cap.release()
            self.cap = None

    def wait_s(self) -> float:
        """How long until the next frame is due (0 for devices, which block in read())."""
        if self.kind == "device" or (self.kind == "video" and self.cfg.pace == "unpaced"):
            return 0.0
        return max(0.0, self._next_due - time.monotonic())

    def advance(self) -> None:
        """One frame period taken (read, or a held frame sent again): the next is due a period later."""
        self.due = self._next_due
        self._next_due += self.period_s
        if not self.file_times:
            self._next_due = max(self._next_due, time.monotonic() - self.period_s)

    def capture_ns(self) -> int:
        """When the frame just read was taken: now, but for a recorded participant the moment it
        was due, so its frames are exactly the file's period apart (the model's smoothing and
        tracking then see the times `silvergym score` gives them, not the scheduler's jitter)."""
        return int(self.due * 1e9) if self.file_times else time.monotonic_ns()

    def rewind(self, first_due: float) -> None:
        """Play a video file from its first frame, that frame due at `first_due` (monotonic s)."""
        if self.cap is not None:
            self.cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
        self._next_due = first_due

    def read(self, into: np.ndarray | None = None) -> np.ndarray:
        """Next frame, decoded into `into` when it has the frame's size (else a new array);
        raises SourceError when the device is gone."""
        self.advance()
        if self.kind == "image":
            return self.image
        ok, bgr = self.cap.read(into)
        if ok:
            return bgr
        if self.kind == "video":
            # A recorded participant (start_with_session) is one performance: it is never played
            # twice into one session (StartWithSession.read holds its last frame and says so).
            if self.cfg.loop and not self.cfg.start_with_session:
                self.cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
                ok, bgr = self.cap.read(into)
                if ok:
                    self.loops += 1
                    return bgr
            self.finished = True
            raise SourceError(f"video {self.source} ended")
        raise SourceError(f"camera {self.source} stopped delivering frames")


class StartWithSession:
    """A recorded participant (the demo): the video's first frame (its first with a person:
    saw()) is sent until the first session's routine starts, then the video plays from its start,
    frame 0 at the routine's t = 0, so the session sees what `silvergym score` sees in the file. Resuming after a pause sends
    "start" again: only the first one counts.

    A recorded class (`with_clip`: scoring.mode = "group") cannot wait for a session: a member is
    admitted only once they follow the routine (common/coach/spots.py ClassRoll), which nobody does
    in a held picture. Its clip plays from its start once the held picture shows someone and the
    scoring service is heard (its Health: it is there to read the clip's first pictures), and the
    class's clock starts with the clip: the camera's Health says when (CAMERA_VIDEO_STARTED_NS,
    frame 0's stamp), members join as the roll admits them, on the file's own times as `silvergym
    score` reads them."""

    def __init__(self, sessions: Subscriber, with_clip: bool = False):
        self.sessions = sessions  # the scoring service's "session" (and, for a class, its "health")
        self.with_clip = with_clip
        self.scoring_heard = False
        self.first: np.ndarray | None = None
        self.play_at = 0.0  # monotonic s of the routine's start; 0 = no session yet
        self.play_at_ns = 0  # the same, exactly as the session said it (its pictures are stamped from it)
        self.playing = False
        self.cut = ""  # appended to Frame.source once playing: a new source, so inference tracks afresh
        self.last: np.ndarray | None = None
        self.ended = False  # the file has played to its end once
        self.ended_ns = 0  # when its next frame would have been due (the session's clock)
        self.said_ended = False
        # Until a session starts the held picture must show someone (a session starts when the
        # scoring service sees a person): a file whose first pictures show nobody is read on, one
        # picture per pose the model returns, to its first picture with a person (at most once
        # through the file). The session still plays the file from its first picture, as
        # `silvergym score` reads it.
        self.person_seen = False
        self.searched_all = False
        self.fresh = False  # the held picture was just read: the next frame id sent is its first
        self.held: np.ndarray | None = None  # the last picture held (one with nobody, while searching)
        self.held_since_id = 0  # the frame id the held picture was first sent as
        self.position = -1  # playing: the index in the file of the picture last read (past its end, counting on)

    def _stamp(self, position: int, frames: FrameSource) -> int:
        return self.play_at_ns + round(position * 1e9 / frames.file_fps)

    def capture_ns(self, frames: FrameSource) -> int:
        """Playing: picture k of the file at exactly the routine's start + k periods, in whole ns
        from the session's own number, the same in every run (summed in floating point, the
        stamps' last nanosecond varied with the start time, and scoring's result with it: up to
        1.4 points on squat_side_studio for the same poses)."""
        return self._stamp(self.position, frames) if self.playing and self.position >= 0 else frames.capture_ns()

    def file_t_s(self, frames: FrameSource) -> float:
        """The picture just read on the file's own clock, as `silvergym score` times it (index / fps),
        while the session plays it; -1 before (the held picture is no moment of the recording)."""
        return self.position / frames.file_fps if self.playing and self.position >= 0 else -1.0

    def poll(self, frames: FrameSource) -> bool:
        """True when the video was just rewound to play from the routine's start."""
        if self.playing:
            return False
        for msg in self.sessions.receive(timeout_ms=0):
            if msg.TOPIC == "health":
                self.scoring_heard = self.scoring_heard or msg.service == "scoring"
            elif msg.event == "start" and msg.routine_start_ns and not self.play_at:
                self.play_at, self.play_at_ns = msg.routine_start_ns / 1e9, msg.routine_start_ns
        if self.with_clip and not self.play_at and self.person_seen and self.scoring_heard:
            self.play_at_ns = time.monotonic_ns()  # the class's clock starts with the clip
            self.play_at = self.play_at_ns / 1e9
        if self.first is None or not self.play_at or time.monotonic() < self.play_at - frames.period_s / 2:
            return False
        frames.rewind(self.play_at)
        frames.file_times = True
        self.playing, self.cut = True, "#session-start"
        return True

    def saw(self, poses: list) -> int:
        """The model's poses, before a session: nobody in the held picture -> read on to the next.
        Returns the newest frame id the model has read (-1: none here), which the camera's wait for
        the model must hear of: these poses are taken off the socket here, not there."""
        newest = max((pose.frame_id for pose in poses), default=-1)
        if self.playing or self.person_seen or self.first is None:
            return newest
        for pose in poses:
            if pose.frame_id < self.held_since_id:
                continue  # a pose of an earlier picture
            if pose.keypoints:
                self.person_seen = True
                return newest
            if not self.searched_all:
                self.first = None  # the next read takes the file's next picture
        return newest

    def read(self, frames: FrameSource, into: np.ndarray | None = None) -> np.ndarray:
        if self.playing and not self.ended:
            try:
                self.last = frames.read(into)
                self.position += 1  # every picture of the file is sent: none is skipped while playing
                return self.last
            except SourceError:
                if self.last is None:
                    raise
                # The file is over: the session ends with it (the camera says when, in the file's
                # own times: the moment its next frame would have been due). The last picture stays
                # on the TV, as a paused video does.
                frames.finished = False
                self.ended = True
                self.ended_ns = self._stamp(self.position + 1, frames)
                self.last = self.last.copy()
        if self.ended:
            frames.advance()
            self.position += 1
            return self.last
        if self.first is None:
            try:
                self.first = frames.read()  # its own array: held while the ring's slots go round
            except SourceError:
                if self.held is None:
                    raise
                # Nobody in the whole file: hold its first picture (as before) and look no more.
                frames.finished, self.searched_all = False, True
                frames.rewind(time.monotonic())
                self.first = frames.read()
            self.held, self.fresh = self.first, True
        else:
            frames.advance()  # the held frame again, at the file's pace
        return self.first


def wait_for_camera(ctx: ServiceContext, health: HealthReporter) -> str:
    """camera.source = 'auto' and no /dev/video* yet: wait for one to be plugged in, running (and
    feeding the watchdog) meanwhile. Exiting instead would leave the TV without a camera until the
    next boot, since systemd does not restart a service that reported bad input."""
    said = False
    while not ctx.stop.is_set():
        found = first_camera()
        if found:
            if said:
                ctx.log.info("camera %s plugged in", found)
            return found
        if not said:
            ctx.log.warning("no camera found (/dev/video*): plug in the USB webcam; waiting for it "
                            "(or set camera.source to a video file)")
            said = True
        health.maybe_publish(time.monotonic(), state="lost", detail={"source": "auto"})
        ctx.stop.wait(1.0)
    return ""


def main(ctx: ServiceContext) -> int:
    cfg = ctx.config.camera
    pub = Publisher(ctx.zmq, ctx.endpoint(), latest_only=True)
    # On this machine (ipc://) the pixels go through shared memory; over tcp:// (inference on a
    # second box) they travel in the message.
    ring = FrameRingWriter(ring_path(ctx.endpoint()), pointer=ring_pointer(ctx.endpoint())) if ctx.endpoint().startswith("ipc://") else None
    try:
        health = HealthReporter(ctx.name, pub)
        source = wait_for_camera(ctx, health) if cfg.source == "auto" else cfg.source
        if not source:  # stopped while waiting
            return 0
        try:
            frames = FrameSource(cfg, source)
        except SourceError as exc:
            ctx.log.error("%s", exc)
            return 2
        return stream(ctx, frames, source, pub, health, ring)
    finally:
        pub.close()
        if ring is not None:
            ring.close(unlink=True)


def stream(ctx: ServiceContext, frames: FrameSource, source: str, pub: Publisher, health: HealthReporter,
           ring: FrameRingWriter | None = None) -> int:
    """The main loop: read -> stamp -> publish, reopening a source that is lost."""
    cfg = ctx.config.camera
    # Unpaced video (benchmarks): run at most IN_FLIGHT frames ahead of inference, so it is never
    # idle and never flooded; the camera itself then costs almost nothing. A recorded participant:
    # one frame ahead (below).
    unpaced = frames.kind == "video" and cfg.pace == "unpaced"
    recorded_class = ctx.config.scoring.mode == "group"  # the clip starts the class (StartWithSession.with_clip)
    start = StartWithSession(Subscriber(ctx.zmq, ctx.endpoints(), ["session", "health"] if recorded_class else ["session"]),
                             with_clip=recorded_class) \
        if cfg.start_with_session and frames.kind == "video" else None
    # A recorded participant (the demo) promises what `silvergym score` gives on the file, so each
    # frame waits until the model has read the one before: inference keeps only the newest frame,
    # and one dropped on a busy moment changed every reading after it (the tracking and smoothing
    # saw a 0.2 s gap), 5 points of the demo's score.
    in_flight = 1 if start is not None else IN_FLIGHT
    patience_s = 5.0 if start is not None else 1.0  # how long a frame waits for the model
    poses = Subscriber(ctx.zmq, ctx.endpoints(), ["pose"], latest_only={"pose"}) if unpaced or start else None
    inferred_id = -1
    backoff_s, retry_at, state = 0.5, 0.0, "starting"
    frame_id = 0
    slow_said = False
    # What the camera tells scoring through its Health: the source, and for a video file when it
    # ended (the session ends with it) or how often it looped (the session's summary says so).
    health_detail: dict = {"source": source}
    try:
        while not ctx.stop.is_set():
            now = time.monotonic()
            if frames.cap is None and frames.image is None:
                if now >= retry_at:
                    try:
                        frames.open()
                        ctx.log.info("camera source %s open (%s)", source, frames.kind)
                        state, backoff_s = "ok", 0.5
                    except SourceError as exc:
                        if state != "lost":
                            ctx.log.warning("%s; retrying every %.0f s at most", exc, cfg.retry_max_s)
                        state, retry_at = "lost", now + backoff_s
                        backoff_s = min(backoff_s * 2, cfg.retry_max_s)
                health.maybe_publish(now, state=state, detail=health_detail)
                ctx.stop.wait(0.1)
                continue
            ctx.stop.wait(frames.wait_s())
            # The held first frame does not wait (the model may still be loading; any copy will do).
            if poses is not None and (start is None or start.playing):
                inferred_id = wait_for_consumer(poses, frame_id, inferred_id, ctx.stop, in_flight, patience_s)
                if start is not None and frame_id - inferred_id > in_flight and not slow_said and not ctx.stop.is_set():
                    ctx.log.warning("the model has not read frame %d within %.0f s; the recorded participant "
                                    "goes on without waiting for it", frame_id - 1, patience_s)
                    slow_said = True
            if start is not None and not start.playing and poses is not None:
                # Before the routine starts the model's answers are read here; without counting
                # them, the first playing frame waited patience_s for an answer already taken
                # (5 s of no picture: the TV said the camera was unplugged before every session).
                inferred_id = max(inferred_id, start.saw(poses.receive(timeout_ms=0)))
            if start is not None and start.poll(frames):
                ctx.log.info("the routine starts: playing %s from its start", source)
                if start.with_clip:  # the class's clock starts with the clip: scoring hears when
                    health_detail[messages.CAMERA_VIDEO_STARTED_NS] = start.play_at_ns
                    health.due_now()
                    health.maybe_publish(time.monotonic(), state=state, detail=health_detail)
                continue  # frame 0 is due when the routine starts
            into = ring.slot_view() if ring is not None else None
            try:
                bgr = start.read(frames, into) if start is not None else frames.read(into)
            except SourceError as exc:
                if frames.finished:
                    ctx.log.info("%s; camera service done", exc)
                    return 0
                ctx.log.warning("%s; the TV shows 'camera lost' until it is back", exc)
                frames.close()
                state, retry_at = "lost", time.monotonic() + backoff_s
                continue
            if start is not None and start.ended and not start.said_ended:
                ctx.log.info("%s has played to its end: the session ends with it", source)
                health_detail[messages.CAMERA_VIDEO_ENDED_NS] = start.ended_ns
                start.said_ended = True
                health.due_now()  # before the held picture's poses reach scoring (through the model)
                health.maybe_publish(time.monotonic(), state=state, detail=health_detail)
            if frames.loops != health_detail.get(messages.CAMERA_VIDEO_LOOPS, 0):  # a looping file: its session's summary says so
                health_detail[messages.CAMERA_VIDEO_LOOPS] = frames.loops
                health.due_now()
            t_ns = start.capture_ns(frames) if start is not None else frames.capture_ns()
            pixels, seq = np.ascontiguousarray(bgr), pub.next_seq("frame")
            in_ring = {}
            if ring is not None:
                try:
                    slot = ring.commit(pixels, seq)  # (the ring is made again when the picture's size changed)
                    in_ring = {"ring_id": ring.ring_id, "ring_slot": slot}
                except RingError as exc:
                    ctx.log.warning("%s; frames travel in the bus messages instead (more CPU per frame)", exc)
                    ring = None
            # A looping file starting again is a cut too (everyone's pose jumps back to the file's
            # start: a jump that is no one's movement, and in a class it counted as a repetition
            # that made a dancer a member): a new source, so inference follows everyone afresh.
            play = f"#play{frames.loops + 1}" if frames.loops else ""
            pub.publish(messages.Frame(seq=seq, t_capture_ns=t_ns, frame_id=frame_id,
                                       width=pixels.shape[1], height=pixels.shape[0],
                                       source=f"{frames.kind}:{source}{start.cut if start else ''}{play}",
                                       pixels=None if in_ring else pixels, **in_ring,
                                       file_t_s=start.file_t_s(frames) if start is not None else -1.0))
            if start is not None and start.fresh:
                start.held_since_id, start.fresh = frame_id, False
            frame_id += 1
            health.stats.tick(time.monotonic())
            health.maybe_publish(time.monotonic(), state=state, detail=health_detail)
        return 0
    finally:
        frames.close()
        if poses is not None:
            poses.close()
        if start is not None:
            start.sessions.close()


IN_FLIGHT = 2


def wait_for_consumer(poses: Subscriber, frame_id: int, inferred_id: int, stop, in_flight: int = IN_FLIGHT,
                      timeout_s: float = 1.0) -> int:
    """Block until inference has caught up to within `in_flight` frames (or timeout_s passes, so a
    missing inference service does not stop the camera)."""
    deadline = time.monotonic() + timeout_s
    while frame_id - inferred_id > in_flight and time.monotonic() < deadline and not stop.is_set():
        for pose in poses.receive(timeout_ms=20):
            inferred_id = max(inferred_id, pose.frame_id)
    return inferred_id
