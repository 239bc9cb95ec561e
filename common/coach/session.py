"""One person's session, the same code offline (`silvergym score`) and live (services/scoring.py,
one person or each spot of a class): the scorer, the routine's clock window, when the session
ends (the routine is over, or the recorded participant's video is), and the summary that says
which. So one performance gives one result whichever way it is played.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from common.coach.routine import Routine
from common.coach.scoring import FrameScore, SessionScorer

COMPLETED = "completed"
VIDEO_ENDED = "video ended"


@dataclass
class PersonSession:
    routine: Routine
    tolerance_scale: float = 1.0
    lag_window_s: float = 1.5
    participant: object = None  # a config participant (age, sex, seated...), None: a guest
    naive: bool = False
    # Routine time at which the recorded participant's video ended (None: it has not, or a camera).
    video_end_t: float | None = None
    video_looped: int = 0  # a looping video file started again this many times during the session
    last_t: float = 0.0
    scorer: SessionScorer = field(init=False)

    def __post_init__(self):
        self.scorer = SessionScorer(self.routine, self.tolerance_scale, self.lag_window_s, naive=self.naive,
                                    participant=self.participant)

    def ended_by(self, t: float) -> str:
        """Why a pose at routine time t falls after the session ('' while it runs): the routine
        is over, or the video it comes from already ended (a held last picture)."""
        if t > self.routine.duration_s + 1e-6:
            return COMPLETED
        if self.video_end_t is not None and t >= self.video_end_t - 1e-6:
            return VIDEO_ENDED
        return ""

    def update(self, t: float, common, world=None, frame_size=None) -> FrameScore:
        self.last_t = max(self.last_t, t)
        return self.scorer.update(t, common, world, frame_size)

    def summary(self, ended: str) -> dict:
        out = self.scorer.summary()
        out.update(ended=ended, duration_s=self.routine.duration_s)
        if ended == VIDEO_ENDED and self.video_end_t is not None:
            out["video_ended_s"] = round(self.video_end_t, 2)  # the routine went on longer than the video
        if self.video_looped:
            out["video_looped"] = self.video_looped  # the same video scored more than once: say so
        return out
