"""Locale strings and a font that really draws Hangul."""
from __future__ import annotations

import json
from importlib import resources

import pygame

from common.fonts import FontError, draws_hangul, find_font  # noqa: F401  (the renderer's font API)


def load_texts(locale: str) -> dict[str, str]:
    return json.loads(resources.files("common").joinpath("locales").joinpath(f"{locale}.json").read_text(encoding="utf-8"))


class Fonts:
    """The font at the sizes the screen uses, and the words already rendered in them."""

    MAX_RENDERED = 256

    def __init__(self, path: str, height: int):
        self.path = path
        self.unit = max(12, height // 36)  # 30 px on 1080p: readable from three metres
        self._sizes: dict[int, pygame.font.Font] = {}
        self._rendered: dict[tuple, pygame.Surface] = {}

    def render(self, s: str, scale: float, color) -> pygame.Surface:
        """`s` drawn at `scale` in `color`; the same words are rendered once, not 30 times a second."""
        key = (s, scale, tuple(color))
        img = self._rendered.get(key)
        if img is None:
            if len(self._rendered) >= self.MAX_RENDERED:  # changing numbers (score, countdown) never pile up
                self._rendered.clear()
            img = self._rendered[key] = self.get(scale).render(s, True, color)
        return img

    def get(self, scale: float) -> pygame.font.Font:
        size = int(self.unit * scale)
        if size not in self._sizes:  # a handful of sizes, opened once each
            self._sizes[size] = pygame.font.Font(self.path, size)
        return self._sizes[size]
