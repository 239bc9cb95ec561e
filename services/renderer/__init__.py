"""Renderer service: newest Frame/Pose/Score + events → draw the TV screen at its own rate.

Latest-only on the pictures it draws, so a slow screen never holds anything up. Keys (TV
remotes send keys): Enter/Space start or pause, S or Backspace stop, Left/Right choose who is
exercising; in a program, Right (▶) skips the movement on screen or the rest before the next
(Control "skip", which scoring acts on). SIGUSR1 is the Enter key for a TV without a remote (`systemctl kill -s USR1
silvergym@renderer`). Headless (no display) it writes PNG snapshots when renderer.snapshot_dir
is set, named by the time, the screen and the routine time they show.
"""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from common.bus import messages
from common.bus.runtime import SignalSafeEvent
from common.bus.service import HealthReporter, ServiceContext
from common.bus.sockets import Publisher, Subscriber
from common.coach import routine as routines
from common.bus.framering import SLOTS
from common.timeline import VerdictTimeline

# Frames kept to draw a skeleton on the picture it was read from: fewer than the camera's ring
# holds, so a kept frame's pixels are not being overwritten while it is drawn.
KEEP_FRAMES = SLOTS - 4

def _display_mode(configured: str) -> str:
    if configured != "auto":
        return configured
    has_display = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or Path("/dev/dri/card0").exists()
    return "fullscreen" if has_display and os.environ.get("SDL_VIDEODRIVER") != "dummy" else "headless"


def main(ctx: ServiceContext) -> int:
    cfg = ctx.config.renderer
    mode = _display_mode(cfg.display)
    if mode == "headless":
        os.environ["SDL_VIDEODRIVER"] = "dummy"
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    import cv2
    import pygame  # after SDL_VIDEODRIVER is decided

    from services.renderer.footage import InstructorFootage
    from services.renderer.screen import (
        MOVING_SCREENS,
        KeptRegions,
        ScreenState,
        content_key,
        draw,
        instructor_time,
        routine_time,
    )
    from services.renderer.text import FontError, Fonts, find_font, load_texts
    from services.renderer.voice import Voice

    # One small resize per draw: OpenCV's worker threads would cost more in wake-ups than they save.
    cv2.setNumThreads(1)
    pygame.display.init()
    pygame.font.init()
    try:
        font_path = find_font(cfg.font)
    except FontError as exc:
        ctx.log.error("%s", exc)
        return 2
    if mode == "fullscreen":
        surface = pygame.display.set_mode((0, 0), pygame.FULLSCREEN)
        pygame.mouse.set_visible(False)
    else:
        surface = pygame.display.set_mode((cfg.width, cfg.height))
    pygame.display.set_caption("silvergym")
    w, h = surface.get_size()
    fonts = Fonts(font_path, h)
    texts = {**load_texts(cfg.locale), "_locale": cfg.locale}
    from common.media import slow_reading_case

    routine = routines.for_participant(ctx.config.scoring.routine,
                                       ctx.config.participants.get(ctx.config.scoring.participant))
    state = ScreenState(routine=routine, texts=texts, participant=ctx.config.scoring.participant,
                        routine_of=ctx.config.scoring.participant,
                        participant_names={"guest": texts["start.guest"],
                                           **{k: p.name for k, p in ctx.config.participants.items()}},
                        footage=InstructorFootage.of(routine), instructor_skeleton=cfg.instructor_skeleton,
                        started_at=time.monotonic(), a_class=ctx.config.scoring.mode == "group",
                        slow_reading_fix=slow_reading_case(ctx.config.camera))
    if state.footage is not None:
        ctx.log.info("the instructor's video plays beside the participant: %s", state.footage.path)
    from services.renderer.program import load_program

    configured_program = getattr(ctx.config.scoring, "program", "")
    if configured_program:  # the start screen names the program before its session starts
        state.program = load_program(configured_program)
    voice = Voice(cfg.voice and mode != "headless", cfg.locale, cfg.volume)
    participants = ["guest", *ctx.config.participants]
    # Every Score is read (each fills its second of the accuracy strip); pictures latest-only.
    # Every Pose too: a class's frame has one per person (a conflated socket kept only the last of
    # them, and the TV drew one person of a class); each loop reads them all, so none pile up.
    inbox = Subscriber(ctx.zmq, ctx.endpoints(), ["frame", "pose", "score", "session", "alert", "delivery", "health"],
                       latest_only={"frame"})
    # A kept frame in the camera's ring is drawn only while the ring still holds it.
    state.holds = lambda f: not f.ring_id or inbox.ring is None or inbox.ring.holds(f.ring_slot, f.seq)
    pub = Publisher(ctx.zmq, ctx.endpoint())
    health = HealthReporter(ctx.name, pub)
    snapshot_dir = Path(cfg.snapshot_dir) if cfg.snapshot_dir and mode == "headless" else None
    if snapshot_dir:
        snapshot_dir.mkdir(parents=True, exist_ok=True)
    next_snapshot, last_screen, last_key, period, draws = 0.0, "", None, 1.0 / cfg.fps, 0
    kept = KeptRegions()
    enter_from_signal = SignalSafeEvent()
    signal.signal(signal.SIGUSR1, lambda *_: enter_from_signal.set())
    ctx.log.info("screen %dx%d (%s), font %s", w, h, mode, font_path)
    try:
        while not ctx.stop.is_set():
            started = time.monotonic()
            for msg in inbox.receive(timeout_ms=0):
                absorb(state, msg, time.monotonic())
            commands = keys(pygame, state, participants)
            if enter_from_signal.is_set():
                enter_from_signal.clear()
                commands.append(enter(state))
            for command in commands:
                pub.publish(messages.Control(seq=pub.next_seq("control"), t_capture_ns=time.monotonic_ns(), **command))
            show_participants_routine(state, ctx)
            now = time.monotonic()
            key = content_key(state, now)
            screen = key[0]
            if key != last_key:  # an unchanged screen (summary, camera lost, no new frame) is not redrawn
                draw(surface, fonts, state, now, kept)
                draws += 1
                if mode != "headless":
                    if kept.changed is None:
                        pygame.display.flip()
                    elif kept.changed:
                        pygame.display.update(kept.changed)
                last_key = key
            speak(voice, state, screen, last_screen)
            if snapshot_dir and (now >= next_snapshot or screen != last_screen):
                # The routine clock's time, and the instructor's moment shown (instructor_time).
                shown_t = f"_t{routine_time(state, now):.6f}_i{instructor_time(state, now):.6f}" \
                    if screen in MOVING_SCREENS else ""
                # Written aside, then moved in whole: a renderer stopped mid-write (the supervisor kills
                # one that does not stop in time) left a truncated PNG that readers failed on.
                name = f"{int(time.time() * 1000)}_{screen}{shown_t}.png"
                (snapshot_dir / ".writing").mkdir(exist_ok=True)
                pygame.image.save(surface, str(snapshot_dir / ".writing" / name))
                os.replace(snapshot_dir / ".writing" / name, snapshot_dir / name)
                next_snapshot = now + cfg.snapshot_every_s
            last_screen = screen
            if cfg.stall_ms:
                time.sleep(cfg.stall_ms / 1000.0)  # bench/test only: a deliberately slow screen
            health.stats.tick(time.monotonic(), (time.monotonic() - started) * 1000)
            health.maybe_publish(time.monotonic(), dropped=inbox.dropped, malformed=inbox.malformed,
                                 state=screen, detail={"screen": screen, "draws": draws})
            ctx.stop.wait(max(0.0, period - (time.monotonic() - started)))
        return 0
    finally:
        if state.footage is not None:
            state.footage.close()
        voice.close()
        pygame.quit()


def absorb(state, msg, now: float) -> None:
    """Fold one bus message into what the screen shows."""
    if msg.TOPIC == "frame":
        state.frame, state.frame_at = msg, now
        # Kept a moment: a skeleton is drawn on the picture it was read from (screen.shown_frame).
        state.recent_frames[msg.frame_id] = msg
        for old in list(state.recent_frames)[:-KEEP_FRAMES]:
            del state.recent_frames[old]
    elif msg.TOPIC == "pose":
        state.pose = msg
        state.backend = msg.backend
        # Group mode: every member of the newest frame, by spot. Inference follows everyone; a
        # track's spot is the one scoring's Score gave it (a passer-by has none and is not drawn).
        spot = msg.spot or state.track_spots.get(msg.track, 0)
        # In a class someone is there for the TV (no "looking" screen) when a member is: a passer-by
        # in view while the members are gone is nobody following the routine.
        if msg.keypoints and (spot or not state.a_class):
            state.person_at = now
        if state.a_class:
            if not spot and msg.keypoints:  # read, no member (yet): drawn neutral
                from services.renderer.screen import note_candidate

                note_candidate(state, msg, now)
            for track, pose in list(state.candidates.items()):
                if msg.frame_id - pose.frame_id >= KEEP_FRAMES:  # no longer read
                    del state.candidates[track]
                    state.candidate_paths.pop(track, None)
        if spot or state.people or state.track_spots:
            # A newer frame's members (or nobody in view) replace the last frame's; a non-member's
            # Pose of a newer frame (often read before the member's) leaves the last members drawn
            # on their own picture while it is kept, rather than nobody (screen.people_drawn).
            if msg.frame_id != state.people_frame and (spot or not msg.keypoints
                                                       or msg.frame_id - state.people_frame >= KEEP_FRAMES):
                state.people, state.people_frame = {}, msg.frame_id
            if spot:
                state.people[spot] = msg
    elif msg.TOPIC == "score":
        state.score, state.score_at = msg, now
        follow_part(state, msg)
        if msg.spot:
            state.people_scores[msg.spot] = msg
            if msg.track:  # this body is that spot's now (one track per spot)
                for track in [k for k, v in state.track_spots.items() if v == msg.spot and k != msg.track]:
                    del state.track_spots[track]
                state.track_spots[msg.track] = msg.spot
                state.candidates.pop(msg.track, None)  # a member now
                state.candidate_paths.pop(msg.track, None)
        elif msg.session_id:  # scores can come before a late joiner hears the session start
            strip_of(state, msg.session_id).add(msg.routine_t_s, msg.verdict)
            if msg.judged_strip:  # the score's own strip (screen.live_strip)
                state.judged_strip, state.judged_strip_session = msg.judged_strip, msg.session_id
    elif msg.TOPIC == "session" and msg.spot:
        absorb_class_session(state, msg, now)
    elif msg.TOPIC == "session":
        if msg.event == "start" and (state.session is None or state.session.session_id != msg.session_id):
            state.score = None  # a new session: forget the last one's numbers
            strip_of(state, msg.session_id)
        state.session, state.session_at = msg, now
        state.paused = bool(msg.paused_at_ns) if msg.event == "start" else False
        if msg.event == "start" and msg.participant:
            state.participant = msg.participant  # who scoring scores (the routine follows: show_participants_routine)
        if msg.event == "start" and msg.program and (state.program is None or state.program.name != msg.program):
            from services.renderer.program import load_program

            state.program = load_program(msg.program)
        if msg.event == "start" and msg.program:
            follow_part(state, msg)  # the part's routine before its first Score (countdown, nobody yet)
    elif msg.TOPIC == "alert" and msg.stage != "called":  # ask before calling: the question, or its answer
        if msg.stage == "asking":
            state.question, state.question_at = msg, now
        elif state.question is not None and state.question.alert_id == msg.alert_id:
            state.question = None  # answered: nobody is called
            # An ended session's summary comes after it (screen.summary_shown_from).
            state.question_answered_at, state.question_answered_session = now, msg.session_id
    elif msg.TOPIC == "alert":
        if state.alert is None or state.alert.alert_id != msg.alert_id:
            state.alert_delivery = ""
            # the fall began with its question (the same alert, asked), else with this call
            asked = state.question is not None and state.question.alert_id == msg.alert_id
            state.alert_began_at = state.question_at if asked else now
        state.question = None  # the carer is called: the alert screen says so
        state.alert, state.alert_at = msg, now
    elif msg.TOPIC == "delivery":
        # About the alert on screen: a carer told is news that stays; nothing goes back to "sending".
        if state.alert is not None and msg.msg_id == state.alert.alert_id and state.alert_delivery != "notified":
            state.alert_delivery = msg.result
    elif msg.TOPIC == "health":
        state.health[msg.service] = msg
        if msg.service == "camera":
            state.camera_state = msg.state
        elif msg.service == "scoring":
            state.class_over = bool(msg.detail.get(messages.SCORING_CLASS_OVER, False))
            up_again = bool(msg.detail.get(messages.SCORING_UP_AGAIN, True))
            if up_again and not state.up_again:
                state.up_again_at = now  # the person is up again: the fall alert may give way (screen.alert_until)
            state.up_again = up_again
        elif msg.service == "inference":
            state.fps = msg.fps
            state.backend = msg.backend or state.backend
            state.cpu_fallback = bool(msg.detail.get("tpu_problem"))


def absorb_class_session(state, msg, now: float) -> None:
    """A class member's session: their name as it starts, their result as it ends (the summary
    screen shows the class's results side by side once they are in)."""
    state.people_names[msg.spot] = msg.participant
    if msg.event == "start":
        if state.session is None or state.session.class_id != msg.class_id:
            state.people_results, state.people_scores, state.track_spots = {}, {}, {}  # a new class
            state.class_running = {}
        state.class_running[msg.spot] = msg
        # The roll made them a member from what is in view: they are there, though the TV knows
        # their track only from their first Score (until then "looking" was shown beside them).
        state.person_at = max(state.person_at, now)
        state.session, state.session_at = msg, now
        state.paused = bool(msg.paused_at_ns)
        if msg.program:  # a class through a program: the part's routine before its first Score (as one person's)
            if state.program is None or state.program.name != msg.program:
                from services.renderer.program import load_program

                state.program = load_program(msg.program)
            follow_part(state, msg)
    else:
        state.people_results[msg.spot] = msg.summary
        state.class_running.pop(msg.spot, None)
        # One member gone (out of view past ABANDON_S) is not the class's end: the others go on
        # exercising on screen, and the summary comes when the last member's session ends.
        running = [m for m in state.class_running.values() if m.class_id == msg.class_id]
        state.session, state.session_at = (running[-1], state.session_at) if running else (msg, now)


def show_participants_routine(state, ctx) -> None:
    """Title, instructor and cues of the routine the participant on screen does (a seated
    participant's variant), as scoring chooses it; its video opened when it changes."""
    from services.renderer.footage import InstructorFootage

    if state.routine_of == state.participant:
        return
    state.routine_of = state.participant
    wanted = routines.for_participant(ctx.config.scoring.routine, ctx.config.participants.get(state.participant))
    if (wanted.name, wanted.source) == (state.routine.name, state.routine.source):
        return
    if state.footage is not None:
        state.footage.close()
    state.routine, state.footage = wanted, InstructorFootage.of(wanted)
    ctx.log.info("the TV shows routine %s for %s", wanted.name, state.participant)


def follow_part(state, score) -> None:
    """In a program, the instructor figure, title and cues are the current part's routine."""
    if not score.program or state.program is None or not 0 <= score.part < len(state.program.parts):
        return
    routine = state.program.parts[score.part].routine
    if routine is not None and routine is not state.routine:
        from services.renderer.footage import InstructorFootage

        state.routine, state.routine_of = routine, state.participant
        if state.footage is not None:
            state.footage.close()
        # A part built from the program's instructor video (`program build`) has its stretch of it:
        # played on the part's clock (Score.part_t_s); else the figure is drawn.
        state.footage = InstructorFootage.of(routine)


def strip_of(state, session_id: str) -> VerdictTimeline:
    """The accuracy strip of `session_id`, a new one when that session is new to the screen."""
    if state.timeline_session != session_id:
        state.timeline, state.timeline_session = VerdictTimeline(), session_id
    return state.timeline


def keys(pygame, state, participants: list[str]) -> list[dict]:
    from services.renderer.screen import in_program

    commands = []
    for event in pygame.event.get():
        if event.type != pygame.KEYDOWN:
            continue
        running = state.session is not None and state.session.event == "start"
        if event.key in (pygame.K_RETURN, pygame.K_SPACE, pygame.K_KP_ENTER):
            commands.append(enter(state))
        elif event.key in (pygame.K_s, pygame.K_BACKSPACE) and running:
            commands.append({"command": "stop"})
        elif event.key == pygame.K_RIGHT and running and in_program(state):
            commands.append({"command": "skip"})  # the movement on screen, or the rest before the next
        elif event.key in (pygame.K_LEFT, pygame.K_RIGHT) and not running and not state.a_class:
            # In a class the roster names the spots (scoring ignores the choice): choosing someone
            # changed only the TV, which then showed that person's routine variant to the class.
            i = participants.index(state.participant) if state.participant in participants else 0
            state.participant = participants[(i + (1 if event.key == pygame.K_RIGHT else -1)) % len(participants)]
            commands.append({"command": "participant", "participant": state.participant})
    return commands


def enter(state) -> dict:
    """The remote's OK key: answer the question after a suspected fall ("괜찮으세요?"), else start a
    session, else pause or resume the one running."""
    from services.renderer.screen import which_screen

    if state.question is not None and which_screen(state, time.monotonic()) == "fall_check":
        return {"command": "fall_ok"}
    if state.session is None or state.session.event != "start":
        return {"command": "start"}
    state.paused = not state.paused
    return {"command": "pause" if state.paused else "resume"}


def program_part(state) -> int:
    from services.renderer.program import part_of

    return part_of(state)


def speak(voice, state, screen: str, last_screen: str) -> None:
    if screen == "alert":
        speak_alert(voice, state, entering=last_screen != "alert")
    elif screen == "fall_check" and last_screen != "fall_check":
        voice.say(state.t("fall_check.voice"), urgent=True)
    elif screen == "start" and last_screen != "start":  # what to do and the safety advice, before it starts
        voice.say(state.routine.description.get(state.texts.get("_locale", "ko"), ""))
    elif screen == "exercise" and last_screen == "countdown":
        voice.say(state.t("voice.go"), urgent=True)
    elif screen == "summary" and last_screen != "summary":
        voice.say(state.t("voice.done"), urgent=True)
    elif screen == "rest" and last_screen != "rest":
        voice.say(state.t("program.rest_title"), urgent=True)
    elif screen == "exercise" and program_part(state) >= 0 and (state.part_said != program_part(state)
                                                                or last_screen == "alert"):
        from services.renderer.program import part_name

        # each movement named once, as it starts, and again when a fall alert gives way to it (back to
        # the program: which movement is under way now)
        state.part_said = program_part(state)
        voice.say(part_name(state, state.part_said), urgent=True)
    elif screen == "exercise" and state.score is not None:
        from services.renderer.screen import class_guidance, cue_text

        # A class hears the cue its screen shows (most members need it, said to all), never the
        # newest member's own Score's: one person's cue, "turn sideways" among them, to the room.
        guidance = class_guidance(state) if state.people_scores else state.score.guidance
        if guidance:
            voice.say(cue_text(state, guidance))


def speak_alert(voice, state, entering: bool) -> None:
    """The question when the alert appears; then, once, the news that matters to a person on
    the floor: a carer was told, or the alert could not be sent."""
    from services.renderer.screen import alert_news

    if entering:
        voice.say(state.t("alert.body"), urgent=True)
        state.alert_said = ""
    if state.alert_delivery in ("notified", "rejected") and state.alert_said != state.alert_delivery:
        voice.say(state.t(alert_news(state)), urgent=True)
        state.alert_said = state.alert_delivery


def screenshots(out_dir: str, locale: str = "ko", size: tuple[int, int] = (1280, 720)) -> list[Path]:
    """Render every screen from sample states to PNG files (docs/screens, tests)."""
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    import pygame

    from services.renderer.samples import SCREENS, SHOWS, state_for
    from services.renderer.screen import draw
    from services.renderer.text import Fonts, find_font

    pygame.display.init()
    pygame.font.init()
    surface = pygame.Surface(size)
    fonts = Fonts(find_font(), size[1])
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in SCREENS:
        now = time.monotonic()
        shown = draw(surface, fonts, state_for(name, locale, now), now)
        assert shown == SHOWS.get(name, name), f"sample state for {name} showed {shown}"
        path = out / f"{name}_{locale}.png"
        pygame.image.save(surface, str(path))
        written.append(path)
    return written
