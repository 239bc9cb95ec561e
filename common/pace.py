"""How a session's pace is said (the summary's `timing`, common/coach/scoring.py SessionScorer.timing):
the carers' report and `silvergym demo` say it in the same words (common/locales report.tempo_*).

The tempo is a slope fitted over the few repetitions of one session, so it is said as an estimate,
rounded to a tenth. A tempo outside PLAUSIBLE_TEMPO is said to be unreliable, not stated as the
person's pace: the tracker may follow a repeating routine at up to 10x (common/coach/warp.py), and
a reading that locks onto every other cycle, or stalls on a hidden limb, fits 2.9x or 0.3x without
the person moving any faster or slower; a senior following a TV instructor at three times its
pace is far rarer than that. A mean lag within IN_STEP_S is said as "in step": less than the half
second a person takes to see and copy a movement plus a few camera frames (a -0.1 s lag is no one
ahead); beyond it, ahead or behind by its size, never with a sign.
"""
from __future__ import annotations

import math

PLAUSIBLE_TEMPO = (0.5, 2.0)  # x the instructor's: outside, more likely a reading problem than a pace
IN_STEP_S = 0.5


def _number(timing: dict, key: str) -> float | None:
    value = timing.get(key)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) \
        else None


def plausible(tempo: float | None) -> bool:
    return tempo is not None and PLAUSIBLE_TEMPO[0] <= tempo <= PLAUSIBLE_TEMPO[1]


def pace_key(timing: dict) -> str:
    """The locale key of the sentence for this timing."""
    if not plausible(_number(timing, "tempo")):
        return "report.tempo_unsure"
    lag = _number(timing, "mean_lag_s") or 0.0
    if abs(lag) < IN_STEP_S:
        return "report.tempo_latest_in_step"
    return "report.tempo_latest_ahead" if lag < 0 else "report.tempo_latest"


def pace_words(timing: dict, t: dict) -> str:
    """The sentence saying the session's pace, in the texts `t` (common/texts.load_texts)."""
    number = lambda key: _number(timing, key) or 0.0  # noqa: E731
    return t[pace_key(timing)].format(tempo=number("tempo"), lag=abs(number("mean_lag_s")),
                                      start=number("tempo_start"), end=number("tempo_end"))
