"""Whether the person is whole in the picture, and what to tell them and the installer when not.

At home the camera sits where the TV is: on a low cabinet, close to the sofa. A senior then stands
up out of the top of the picture, their feet leave the bottom, or a side is cut by the edge. A
point out of the picture is "not seen": its score becomes 0, so every angle taken from it is
None, the TV greys that joint and the score leaves it out (never "wrong"). A point is out when
the model places it outside the picture (BlazePose carries on a body the picture cuts) or reads it
weakly right at an edge (MoveNet keeps its points inside its crop); a weak point in the middle of
the picture is hidden, not out, and stays the model's business. A part of the body is leaving the
picture when any of its points is at an edge. The head counts as out once its
top is (geometry.crown), the feet once a sole is (geometry.sole): a model carries the nose and the
ankles on just inside an edge that cuts the head or the feet off.

Only the parts of the body the routine needs are judged (`needed_points`): a routine that scores
and counts no knee and no ankle (an arm raise, a lateral raise, a seated side bend) needs the upper
body alone, so a picture that cuts the legs (seated behind a table, framed from the waist up) is not
a framing problem; its lower end is the hips (the shoulders' angles are taken from them), a part
("hips") once a hip or the mid-hip is out of the bottom of the picture, and a side is cut only when
a point it needs (a wrist, an elbow) is at the left or right edge. A routine that needs the legs is
judged whole, as before: the arms of someone standing move for balance, and the feet show the floor.

FramingMonitor keeps the time each part of the body spent out of the picture: the setup cue
(step back, come to the middle) once a part has been out for `cue_after_s` of the last
`window_s`, and for the session summary the share of time the person was only partly in view with
advice for the installer when the routine's movement keeps leaving the picture.
"""
from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from common.coach.geometry import JOINT_ANGLES, MIN_SCORE, SIGNED_ANGLES, crown, sole
from common.coach.keypoints import COMMON_INDEX
from common.files import write_atomically

EDGE_MARGIN = 0.02  # share of the picture's width or height: a point this near an edge is at it

STEP_BACK = "frame.step_back"  # locale key: head or feet out of the picture
TO_MIDDLE = "frame.to_middle"  # locale key: a side cut by the picture's edge
CAMERA_LOW_OR_CLOSE = "view.low_or_close"  # locale key, summary advice: raise the camera or move it back
CAMERA_OFF_CENTRE = "view.off_centre"  # locale key, summary advice: turn the camera to the middle of the space

_HEAD = [COMMON_INDEX["nose"]]
_FEET = [COMMON_INDEX["left_ankle"], COMMON_INDEX["right_ankle"]]
_BODY = [COMMON_INDEX[n] for n in ("left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist",
                                     "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee")]
_TORSO = [COMMON_INDEX[n] for n in ("left_shoulder", "right_shoulder", "left_hip", "right_hip")]
_DERIVED = (("neck", "left_shoulder", "right_shoulder"), ("mid_hip", "left_hip", "right_hip"))
_LEGS = [COMMON_INDEX[n] for n in ("left_knee", "right_knee", "left_ankle", "right_ankle")]
_HIPS = [COMMON_INDEX[n] for n in ("left_hip", "right_hip", "mid_hip")]
PARTS = ("head", "feet", "side", "hips")  # "hips": the lower end of an upper-body routine (needed_points)
# The advice in plain words for the log and doctor (the TV says it from the locale texts).
ADVICE = {CAMERA_LOW_OR_CLOSE: "the camera is too low or too close: raise it to chest height or move it back",
          CAMERA_OFF_CENTRE: "the camera does not face the exercise space: turn it to the middle of where "
                             "the participant stands"}


def out_of_picture(common: np.ndarray, width: int, height: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per point of the common skeleton: (not seen: outside the picture, or weak at its edge;
    at or past the top or bottom edge; at or past the left or right edge). A point at an edge
    with a good score keeps its angles (an ankle on the bottom edge still gives the knee) but
    says that part of the body is leaving the picture."""
    x, y, score = common[:, 0], common[:, 1], common[:, 2]
    mx, my = EDGE_MARGIN * width, EDGE_MARGIN * height
    vertical = (y < my) | (y >= height - my)
    sideways = (x < mx) | (x >= width - mx)
    outside = (x < 0) | (x >= width) | (y < 0) | (y >= height)
    return outside | ((vertical | sideways) & (score < MIN_SCORE)), vertical, sideways


def needed_points(joints) -> frozenset[int] | None:
    """The points of the common skeleton the angles of `joints` are taken from (a routine's scored
    and counted joints), or None when they need a knee or an ankle: the whole body is judged."""
    names = set()
    for joint in joints:
        names.update(n for n in JOINT_ANGLES.get(joint, SIGNED_ANGLES.get(joint, ())) if n != "vertical")
    for name, a, b in _DERIVED:  # a derived point is taken from its two
        if name in names:
            names.update((a, b))
    points = frozenset(COMMON_INDEX[n] for n in names if n in COMMON_INDEX)
    return None if not points or points & set(_LEGS) else points


def in_view(common: np.ndarray, width: int, height: int,
            needs: frozenset[int] | None = None) -> tuple[np.ndarray, frozenset]:
    """The pose with every point out of the picture marked not seen (score 0), and which parts of
    the body are out ("head", "feet", "side", "hips"). `needs`: the points an upper-body routine
    needs (needed_points); None judges the whole body. A pose without a torso is nobody: unchanged, none."""
    if not len(common) or width <= 0 or height <= 0 or common[_TORSO, 2].max() < MIN_SCORE:
        return common, frozenset()
    out, vertical, sideways = out_of_picture(common, width, height)
    parts = set()
    if (vertical | sideways)[_HEAD].any() or _head_cut(common, width, height):
        parts.add("head")
    if needs is None:
        if vertical[_FEET].any() or _feet_cut(common, height):
            parts.add("feet")
        if sideways[_BODY + _FEET].any():
            parts.add("side")
    else:
        # The hips carry on at the bottom edge of a picture framed from the waist up and still give
        # the shoulders' angles: only a hip out of the picture (not seen) is a cut.
        hips = [i for i in _HIPS if i in needs]
        if (out & (common[:, 1] >= height / 2))[hips].any():
            parts.add("hips")
        if sideways[sorted(needs & set(_BODY))].any():
            parts.add("side")
    if not out.any():
        return common, frozenset(parts)
    marked = common.copy()
    marked[out, 2] = 0.0
    for name, a, b in _DERIVED:  # a derived point is seen as well as the worse of its two
        marked[COMMON_INDEX[name], 2] = min(marked[COMMON_INDEX[a], 2], marked[COMMON_INDEX[b], 2])
    return marked, frozenset(parts)


def _head_cut(common: np.ndarray, width: int, height: int) -> bool:
    """The top of the head is out of the picture (geometry.crown)."""
    nose, neck, hip = (common[COMMON_INDEX[n]] for n in ("nose", "neck", "mid_hip"))
    if min(nose[2], neck[2], hip[2]) < MIN_SCORE:
        return False
    top = crown(nose, neck, hip)
    return top is not None and not (0 <= top[0] < width and 0 <= top[1] < height)


def _feet_cut(common: np.ndarray, height: int) -> bool:
    """A sole is below the picture's bottom (geometry.sole) though the ankle is in it."""
    for knee, ankle in (("left_knee", "left_ankle"), ("right_knee", "right_ankle")):
        k, a = common[COMMON_INDEX[knee]], common[COMMON_INDEX[ankle]]
        if min(k[2], a[2]) >= MIN_SCORE:
            bottom = sole(k, a)
            if bottom is not None and bottom[1] >= height:
                return True
    return False


@dataclass
class FramingMonitor:
    """Time out of the picture per part; `update` returns the setup cue to show now ("" for none)."""

    window_s: float = 3.0
    cue_after_s: float = 0.75  # out this long within the window: say how to fix the view
    advise_share: float = 0.2  # out this share of the session: advice in the summary and in doctor
    max_gap_s: float = 0.2  # a longer gap between poses counts this long (a stall is not time out)
    seconds: float = 0.0  # session time with the person in view at all (t >= 0)
    partly_s: float = 0.0  # of which only partly in view
    part_s: dict = field(default_factory=lambda: {p: 0.0 for p in PARTS})
    _recent: deque = field(default_factory=deque)  # (t, dt, parts) over the last window_s
    _prev_t: float | None = None

    def update(self, t: float, parts: frozenset, present: bool = True) -> str:
        dt = 0.0 if self._prev_t is None else min(self.max_gap_s, max(0.0, t - self._prev_t))
        self._prev_t = t
        if present:
            self._recent.append((t, dt, parts))
            if t >= 0:
                self.seconds += dt
                if parts:
                    self.partly_s += dt
                for part in parts:
                    self.part_s[part] += dt
        while self._recent and t - self._recent[0][0] > self.window_s:
            self._recent.popleft()
        out = {p: sum(d for _, d, ps in self._recent if p in ps) for p in PARTS}
        if max(out["head"], out["feet"], out["hips"]) >= self.cue_after_s:
            return STEP_BACK
        if out["side"] >= self.cue_after_s:
            return TO_MIDDLE
        return ""

    def summary(self) -> dict:
        """For the session summary: shares of the time in view (0-1) and the installer's advice."""
        def share(s: float) -> float:
            return round(s / self.seconds, 3) if self.seconds > 0 else 0.0

        out = {"partly_in_view": share(self.partly_s), **{f"{p}_out": share(self.part_s[p]) for p in PARTS}}
        advice = ""
        if max(out["head_out"], out["feet_out"], out["hips_out"]) >= self.advise_share:
            advice = CAMERA_LOW_OR_CLOSE
        elif out["side_out"] >= self.advise_share:
            advice = CAMERA_OFF_CENTRE
        out["advice"] = advice
        return out

    def checkpoint(self) -> dict:
        return {"seconds": self.seconds, "partly_s": self.partly_s, "part_s": dict(self.part_s)}

    def restore(self, state: dict) -> None:
        self.seconds, self.partly_s = float(state["seconds"]), float(state["partly_s"])
        self.part_s = {p: float(state["part_s"].get(p, 0.0)) for p in PARTS}


KEPT_SESSIONS = 5  # how many sessions' framing the device keeps for doctor


def framing_record_path(spool_path: str | Path) -> Path:
    """Where the scoring service keeps the last sessions' framing, beside its spool."""
    return Path(str(spool_path) + ".framing.json")


def remember_framing(path: Path, entry: dict) -> None:
    """Add one session's framing ({"ended_unix", "routine", "framing"}) to the record, keeping the
    last KEPT_SESSIONS; written whole and renamed into place, so a reader never sees half of it."""
    kept = read_framing(path)[-(KEPT_SESSIONS - 1):] + [entry]
    write_atomically(path, json.dumps(kept))


def read_framing(path: Path) -> list[dict]:
    """The record's sessions, oldest first; [] when there is none or it is unreadable."""
    try:
        kept = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [e for e in kept if isinstance(e, dict) and isinstance(e.get("framing"), dict)] if isinstance(kept, list) else []
