"""The instructor's own video, played on the routine's clock.

The file is the one `silvergym routine build` prepared (MJPEG: every frame its own picture, so
a pause, a resume or a late start lands on the exact frame). It is decoded here, in the
renderer, one frame when the routine clock reaches it: nothing else waits for it. Anything
wrong with it (missing, altered since it was built, unreadable) is said once in the log and the
TV draws the instructor figure instead.
"""
from __future__ import annotations

import logging

import cv2
import numpy as np

from common.coach import routine as routines
from common.media import instructor_video

log = logging.getLogger("renderer")


class InstructorFootage:
    def __init__(self, video: routines.InstructorVideo, path, loop: bool = False):
        self.video, self.path, self.loop = video, path, loop
        self._capture = None
        self._index = -1
        self._picture: np.ndarray | None = None
        self.broken = False

    @classmethod
    def of(cls, routine: routines.Routine) -> InstructorFootage | None:
        """The routine's footage when its file is there and is the one the routine was built
        with; None (drawn instructor) otherwise, said once."""
        state, path = instructor_video(routine)
        if state == "missing":
            log.warning("routine %s: its instructor video %s is missing (was the routine file moved without its "
                        "videos/ folder?); the instructor is drawn instead", routine.name, path)
        elif state == "altered":
            log.warning("routine %s: %s has changed since the routine was built, so it would be out of step; "
                        "the instructor is drawn instead (build the routine again from the video)", routine.name, path)
        if state != "ok":
            return None
        footage = cls(routine.video, path, routine.loop)
        if footage.frame_at(0.0) is None:
            return None
        return footage

    def frame_index(self, t: float) -> int:
        """The frame showing routine time t (held on the first before; after the last, held or,
        for a looping routine, from the start again)."""
        index = int(max(t * self.video.fps + 1e-6, 0))
        return index % self.video.frames if self.loop else min(index, self.video.frames - 1)

    def frame_at(self, t: float) -> np.ndarray | None:
        """The picture (BGR) at routine time t; None once the file has proved unreadable."""
        if self.broken:
            return None
        index = self.frame_index(t)
        if index == self._index:
            return self._picture
        try:
            if self._capture is None:
                self._capture = cv2.VideoCapture(str(self.path))
            if index != self._index + 1:  # a jump (start, resume, restart): seek, exact with MJPEG
                self._capture.set(cv2.CAP_PROP_POS_FRAMES, index)
            ok, picture = self._capture.read()
        except cv2.error as exc:
            ok, picture = False, str(exc)
        if not ok:
            self.broken = True
            log.warning("the instructor video %s cannot be read at frame %d of %d; the instructor is drawn instead",
                        self.path, index, self.video.frames)
            self.close()
            return None
        self._index, self._picture = index, picture
        return picture

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None

