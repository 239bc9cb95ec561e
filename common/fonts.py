"""A font file that really draws Hangul: what the TV renderer opens and `silvergym doctor` checks."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pygame

KNOWN_FONTS = (
    "/usr/share/fonts/truetype/nanum/NanumGothicBold.ttf",
    "/usr/share/fonts/truetype/nanum/NanumGothic.ttf",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/unfonts-core/UnDotum.ttf",
)


class FontError(RuntimeError):
    pass


def _fontconfig_candidates() -> list[str]:
    try:
        out = subprocess.run(["fc-list", ":lang=ko", "file"], capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    return sorted(line.split(":")[0].strip() for line in out.splitlines() if line.strip())


def draws_hangul(path: str) -> bool:
    """True when the font renders '가' differently from a missing-glyph box (tofu)."""
    font = pygame.font.Font(path, 40)
    hangul = pygame.surfarray.array2d(font.render("가", False, (255, 255, 255)))
    tofu = pygame.surfarray.array2d(font.render("\uffff", False, (255, 255, 255)))
    return hangul.shape != tofu.shape or bool((hangul != tofu).any())


def find_font(configured: str = "") -> str:
    """A font file with Hangul: the configured one, else a known one, else what fontconfig has."""
    if not pygame.font.get_init():
        pygame.font.init()
    candidates = [configured] if configured else [*KNOWN_FONTS, *_fontconfig_candidates()]
    for path in candidates:
        if path and Path(path).exists() and draws_hangul(path):
            return path
    where = configured or "the system"
    raise FontError(f"no font with Hangul found in {where}: install one with `sudo apt install fonts-nanum` "
                    "(make demo does this) or set renderer.font to a .ttf/.ttc file")
