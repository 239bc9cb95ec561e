"""Spoken cues through the TV speakers with espeak-ng (offline). Never blocks the draw loop."""
from __future__ import annotations

import logging
import shutil
import subprocess
import time

log = logging.getLogger("renderer")

MIN_GAP_S = 4.0  # say nothing more often than this: calm, not chatty


class Voice:
    def __init__(self, enabled: bool, locale: str, volume: int):
        self.binary = shutil.which("espeak-ng") if enabled else None
        if enabled and not self.binary:
            log.warning("espeak-ng is not installed: voice cues are off (sudo apt install espeak-ng)")
        self.voice = "ko" if locale == "ko" else "en"
        self.amplitude = int(volume * 2)  # espeak-ng amplitude 0-200
        self._proc: subprocess.Popen | None = None
        self._last_said = ("", -1e9)

    def say(self, text: str, urgent: bool = False) -> bool:
        if not self.binary or not text:
            return False
        now = time.monotonic()
        if not urgent and (text == self._last_said[0] or now - self._last_said[1] < MIN_GAP_S):
            return False
        if self._proc is not None and self._proc.poll() is None:
            if not urgent:
                return False
            self._proc.terminate()
        self._proc = subprocess.Popen([self.binary, "-v", self.voice, "-a", str(self.amplitude), "-s", "140", text],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._last_said = (text, now)
        return True

    def close(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            self._proc.wait(timeout=1)
