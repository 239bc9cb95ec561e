"""Locale strings and a font that really draws Hangul."""
from __future__ import annotations

import pygame

from common.fonts import FontError, draws_hangul, find_font  # noqa: F401  (the renderer's font API)
from common.texts import load_texts  # noqa: F401  (the renderer's text API)


class Fonts:
    """The font at the sizes the screen uses, and the words already rendered in them.

    A size is a fraction of the screen's height (screen.BODY and up), so a 1080p TV shows the
    same layout as a 720p one, only sharper. `drawn`, when a list, records every text drawn
    (the legibility test measures them)."""

    MAX_RENDERED = 256

    def __init__(self, path: str, height: int):
        self.path = path
        self.height = height
        self.drawn: list | None = None
        self._sizes: dict[int, pygame.font.Font] = {}
        self._rendered: dict[tuple, pygame.Surface] = {}
        self._wrapped: dict[tuple, list[str]] = {}

    def px(self, size: float) -> int:
        """Pixel size of the font at `size` (a fraction of the screen height)."""
        return max(8, round(self.height * size))

    def render(self, s: str, size: float, color) -> pygame.Surface:
        """`s` drawn at `size` in `color`; the same words are rendered once, not 30 times a second."""
        key = (s, size, tuple(color))
        img = self._rendered.get(key)
        if img is None:
            if len(self._rendered) >= self.MAX_RENDERED:  # changing numbers (score, countdown) never pile up
                self._rendered.clear()
            img = self._rendered[key] = self.get(size).render(s, True, color)
        return img

    def get(self, size: float) -> pygame.font.Font:
        px = self.px(size)
        if px not in self._sizes:  # a handful of sizes, opened once each
            self._sizes[px] = pygame.font.Font(self.path, px)
        return self._sizes[px]

    def wrap(self, words: str, size: float, width: int) -> list[str]:
        """`words` broken into lines no wider than `width` pixels at `size` (at spaces: Korean
        sentences have them between words too). Kept: a screen redrawn for every camera frame
        measures its paragraphs once, not a few dozen words 30 times a second."""
        key = (words, size, width)
        lines = self._wrapped.get(key)
        if lines is None:
            if len(self._wrapped) >= self.MAX_RENDERED:
                self._wrapped.clear()
            font, lines = self.get(size), []
            for word in words.split():
                if lines and font.size(f"{lines[-1]} {word}")[0] <= width:
                    lines[-1] = f"{lines[-1]} {word}"
                else:
                    lines.append(word)
            self._wrapped[key] = lines
        return lines
