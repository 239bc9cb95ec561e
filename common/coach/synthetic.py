"""A stick-figure body posed from joint angles: the simulated participant of `make demo`
(published on the bus as Pose with backend "sim") and the synthetic sequences of the tests.

Forward kinematics in 3D (x right, y down, z away from the camera), person facing the camera:
trunk lean bends forward toward the camera, hips/knees flex in the sagittal plane, shoulders
abduct in the frontal plane, elbows flex toward the camera. The 2D projection is (x, y).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from common.coach.keypoints import COCO17, COMMON, COMMON_INDEX, EDGES

STANDING = {"left_knee": 175.0, "right_knee": 175.0, "left_hip": 175.0, "right_hip": 175.0,
            "left_shoulder": 15.0, "right_shoulder": 15.0, "left_elbow": 170.0, "right_elbow": 170.0,
            "trunk_lean": 3.0, "trunk_tilt": 0.0}


@dataclass(frozen=True)
class Body:
    """Segment lengths in pixels (a person about 400 px tall)."""
    trunk: float = 125.0
    head: float = 45.0
    shoulder_half: float = 30.0
    hip_half: float = 30.0
    upper_arm: float = 70.0
    forearm: float = 65.0
    thigh: float = 100.0
    shin: float = 100.0


def _sagittal(phi_deg: float) -> np.ndarray:
    """Unit vector at phi from straight up, turned toward the camera (-z)."""
    p = math.radians(phi_deg)
    return np.array([0.0, -math.cos(p), -math.sin(p)])


def pose3d(angles: dict[str, float], center_x: float = 320.0, floor_y: float = 450.0,
           body: Body = Body(), lying: bool = False, yaw_deg: float = 0.0) -> np.ndarray:
    """(len(COMMON), 3) array of x, y, z for the given joint angles (missing ones = standing).
    yaw_deg turns the person about the vertical axis (90 = seen from their side)."""
    a = {**STANDING, **angles}
    lean, tilt = a["trunk_lean"], a["trunk_tilt"]
    tr = math.radians(tilt)
    up = np.array([math.sin(tr), -math.cos(tr) * math.cos(math.radians(lean)),
                   -math.cos(tr) * math.sin(math.radians(lean))])
    up /= np.linalg.norm(up)
    lateral = np.array([math.cos(tr), math.sin(tr), 0.0])  # toward the person's left (image right)
    forward = np.array([0.0, 0.0, -1.0])
    pts = {"mid_hip": np.zeros(3)}
    pts["neck"] = pts["mid_hip"] + body.trunk * up
    pts["nose"] = pts["neck"] + body.head * up + 8.0 * forward
    for side, sign in (("left", 1.0), ("right", -1.0)):
        hip = pts["mid_hip"] + sign * body.hip_half * lateral
        thigh = _sagittal(lean + a[f"{side}_hip"])
        knee = hip + body.thigh * thigh
        shin = _sagittal(lean + a[f"{side}_hip"] + 180.0 - a[f"{side}_knee"])
        pts[f"{side}_hip"], pts[f"{side}_knee"], pts[f"{side}_ankle"] = hip, knee, knee + body.shin * shin
        shoulder = pts["neck"] + sign * body.shoulder_half * lateral
        s = math.radians(a[f"{side}_shoulder"])
        arm = math.sin(s) * sign * lateral + math.cos(s) * -up
        elbow = shoulder + body.upper_arm * arm
        bend = math.radians(180.0 - a[f"{side}_elbow"])
        fore = math.cos(bend) * arm + math.sin(bend) * forward
        pts[f"{side}_shoulder"], pts[f"{side}_elbow"], pts[f"{side}_wrist"] = shoulder, elbow, elbow + body.forearm * fore
        pts[f"{side}_eye"] = pts["nose"] + sign * 10.0 * lateral - 8.0 * up
        pts[f"{side}_ear"] = pts["nose"] + sign * 20.0 * lateral - 4.0 * up + 10.0 * -forward
    xyz = np.stack([pts[n] for n in COCO17] + [pts["neck"], pts["mid_hip"]])
    if yaw_deg:
        c, s_ = math.cos(math.radians(yaw_deg)), math.sin(math.radians(yaw_deg))
        xyz = np.column_stack([c * xyz[:, 0] - s_ * xyz[:, 2], xyz[:, 1], s_ * xyz[:, 0] + c * xyz[:, 2]])
    if lying:  # the whole body turned onto its side, along the floor
        xyz = xyz[:, [1, 0, 2]] * np.array([-1.0, 1.0, 1.0])
    xyz[:, 1] += floor_y - xyz[:, 1].max()
    xyz[:, 0] += center_x - xyz[COMMON_INDEX["mid_hip"], 0]
    return xyz


def common_pose(angles: dict[str, float], score: float = 0.9, **kw) -> np.ndarray:
    """(len(COMMON), 3) x, y, score, as keypoints.to_common returns."""
    xyz = pose3d(angles, **kw)
    return np.concatenate([xyz[:, :2], np.full((len(COMMON), 1), score)], axis=1)


def world_landmarks(xyz: np.ndarray, metres_per_px: float = 0.0045) -> list[list[float]]:
    """A drawn figure's 3D points (pixels, y down) as a model's world landmarks: metres, centred
    between the hips (the points in COCO-17 order)."""
    centre = (xyz[COCO17.index("left_hip")] + xyz[COCO17.index("right_hip")]) / 2.0
    return [[round(float(v), 4) for v in p] for p in (xyz - centre) * metres_per_px]


def draw_picture(xyz: np.ndarray, width: int, height: int) -> np.ndarray:
    """A plain BGR picture of the stick figure (the simulator's "camera" image)."""
    import cv2

    img = np.full((height, width, 3), (205, 215, 220), dtype=np.uint8)
    cv2.rectangle(img, (0, int(height * 0.93)), (width, height), (150, 160, 170), -1)
    for a, b in EDGES:
        pa, pb = xyz[COMMON_INDEX[a]], xyz[COMMON_INDEX[b]]
        cv2.line(img, (int(pa[0]), int(pa[1])), (int(pb[0]), int(pb[1])), (90, 70, 60), 14, cv2.LINE_AA)
    nose = xyz[COMMON_INDEX["nose"]]
    cv2.circle(img, (int(nose[0]), int(nose[1])), 24, (120, 150, 200), -1, cv2.LINE_AA)
    return img


# Colours (BGR) of the drawn person: skin, shirt, trousers, hair and shoes, wall and floor.
SKIN, SHIRT, TROUSERS, DARK = (140, 170, 215), (60, 90, 170), (70, 60, 55), (40, 40, 45)
FAR_SHADE = 0.6  # the far side's colours, of the near side's, on a person turned from the camera


def _limb(img, a, b, width: float, color) -> None:
    import cv2

    pa, pb = (int(a[0]), int(a[1])), (int(b[0]), int(b[1]))
    cv2.line(img, pa, pb, color, int(width), cv2.LINE_AA)
    for p in (pa, pb):
        cv2.circle(img, p, int(width / 2), color, -1, cv2.LINE_AA)


def draw_person(xyz: np.ndarray, width: int, height: int) -> np.ndarray:
    """A BGR picture of a simply drawn, clothed person in the pose `xyz` (a body with volume, a
    face and hands, unlike draw_picture's stick figure), which the real pose models recognise:
    BlazePose and MoveNet found the person in 60 of 60 frames of an arm-raise clip. It lets the
    tests and the benchmark run the models on a person without any sample clip."""
    import cv2

    scale = height / 480.0
    img = np.full((height, width, 3), (205, 215, 220), dtype=np.uint8)
    cv2.rectangle(img, (0, int(height * 0.93)), (width, height), (150, 160, 170), -1)

    def p(name: str) -> np.ndarray:
        return xyz[COMMON_INDEX[name]][:2]
    # A person turned from the camera: the far side drawn first and in shade (as the room's light
    # from the front falls on a real body), so that a leg crossing the other shows which is in
    # front. In one flat colour a turned marcher's near knee lift and far knee lift were the same
    # silhouette: BlazePose put the near (right) lift half on the far leg (hips read left 160,
    # right 165 for a drawn right 120) and counted right 0 of 4.
    depth = {side: xyz[COMMON_INDEX[f"{side}_hip"], 2] for side in ("left", "right")}
    turned = abs(depth["left"] - depth["right"]) > 1.0
    sides = sorted(("left", "right"), key=lambda side: -depth[side]) if turned else ["left", "right"]
    far = sides[0] if turned else None

    def shade(color, side):
        return tuple(int(c * FAR_SHADE) for c in color) if side == far else color
    for side in sides:
        _limb(img, p(f"{side}_hip"), p(f"{side}_knee"), 34 * scale, shade(TROUSERS, side))
        _limb(img, p(f"{side}_knee"), p(f"{side}_ankle"), 28 * scale, shade(TROUSERS, side))
        ankle = p(f"{side}_ankle")
        cv2.ellipse(img, (int(ankle[0]), int(ankle[1] + 6 * scale)), (int(22 * scale), int(9 * scale)), 0, 0, 360,
                    DARK, -1)

    def arm(side):
        _limb(img, p(f"{side}_shoulder"), p(f"{side}_elbow"), 26 * scale, shade(SHIRT, side))
        _limb(img, p(f"{side}_elbow"), p(f"{side}_wrist"), 20 * scale, shade(SKIN, side))
        wrist = p(f"{side}_wrist")
        cv2.circle(img, (int(wrist[0]), int(wrist[1])), int(13 * scale), shade(SKIN, side), -1, cv2.LINE_AA)
    if far:  # the far arm behind the trunk
        arm(far)
    shoulders, hips = (p("left_shoulder"), p("right_shoulder")), (p("left_hip"), p("right_hip"))
    cv2.fillConvexPoly(img, np.array([shoulders[0], shoulders[1], hips[1], hips[0]], np.int32), SHIRT, cv2.LINE_AA)
    neck, mid_hip = (shoulders[0] + shoulders[1]) / 2, (hips[0] + hips[1]) / 2
    _limb(img, neck, mid_hip, 60 * scale, SHIRT)
    for side in sides:
        if side != far:
            arm(side)
    nose = p("nose")
    _limb(img, neck, neck + (nose - neck) * 0.4, 22 * scale, SKIN)
    head = neck + (nose - neck) * 0.95
    hx, hy = int(head[0]), int(head[1])
    cv2.ellipse(img, (hx, hy), (int(26 * scale), int(32 * scale)), 0, 0, 360, SKIN, -1, cv2.LINE_AA)
    cv2.ellipse(img, (hx, hy - int(16 * scale)), (int(27 * scale), int(18 * scale)), 0, 180, 360, DARK, -1,
                cv2.LINE_AA)
    for dx in (-10, 10):
        cv2.circle(img, (hx + int(dx * scale), hy - int(2 * scale)), max(1, int(3 * scale)), (30, 30, 30), -1)
    return img


# How far a side-view routine's drawn person is turned from the camera. Not 70: there the far leg
# hides wholly behind the near one, BlazePose puts its ankle up by the hips at each squat's bottom
# (75-116 px above the other foot, hips 104-136 px over the floor), and the counter's feet_planted
# rule, told a foot is lifted, rejects every squat as a knee lift: `silvergym demo --routine squat` showed 0 of 4
# squats counted. At 60 both legs show: 4 of 4 counted with blazepose-full and movenet-lightning
# (knees read 82-172 and 79-180 deg; 55 counts 4 of 4 too; 45 foreshortens the knee to 107 deg).
SIDE_YAW_DEG = 60.0


# How far a side-view routine whose legs move in turn (marching's knee lifts) is drawn turned.
# Not SIDE_YAW_DEG: at 60 the near thigh lifts across the far standing leg and BlazePose read the
# near knee lift at 150-156 deg for a drawn 120 (the far one 140), short of the routine's range:
# the short program's marching counted right 0 of 4 and scored 0. Measured on the demo's own
# program clip (demo.program_person_clip, knees bent, far side shaded), marching's lifts counted
# of 8 and score: blazepose-full 60: 4, 0; 65: 4, 0; 70: 8, 99.3; 75: 6, 50.5; 80: 12, 32.4;
# movenet-lightning 60: 8, 97.7; 70: 7, 74.6. 70 for the default model; the drawn body is read
# near the models' limits either way (tests/test_demo_program_drawn.py). A squat is not drawn so:
# its legs bend together and at 70 BlazePose lost the far one (commit 5078b8c).
LEGS_IN_TURN_YAW_DEG = 70.0


def legs_in_turn(routine) -> bool:
    """Whether the routine moves one hip while the other holds (a march, a knee lift)."""
    return any(abs(k.angles["left_hip"] - k.angles["right_hip"]) > 10.0 for k in routine.keyframes
               if "left_hip" in k.angles and "right_hip" in k.angles)


def drawn_yaw(routine) -> float:
    """How far the drawn person doing `routine` is turned from the camera (0: facing it)."""
    if getattr(routine, "view", "front") != "side":
        return 0.0
    return LEGS_IN_TURN_YAW_DEG if legs_in_turn(routine) else SIDE_YAW_DEG


def as_a_person_does(angles: dict[str, float]) -> dict[str, float]:
    """A routine's target angles as a person does them: a side whose hip the routine moves but
    whose knee it does not give (marching's knee lifts, balance_hold's lifted leg: the routine
    scores the hips only) lifts the knee, the shin hanging plumb below it (knee = hip + trunk lean,
    at most standing straight). Drawn with the knee straight, as pose3d's default would, the
    person kicks a stiff leg forward: the short program's drawn marcher scored 0 (4 of 8 counted,
    left 0) with blazepose-full."""
    out = dict(angles)
    lean = angles.get("trunk_lean", STANDING["trunk_lean"])
    for side in ("left", "right"):
        hip, knee = f"{side}_hip", f"{side}_knee"
        if hip in angles and knee not in angles:
            out[knee] = min(STANDING[knee], angles[hip] + lean)
    return out


def write_person_clip(path, routine, seconds: float = 6.0, fps: float = 10.0, size=(320, 240)):
    """An mp4 of the drawn person doing `routine` (a routine object) for `seconds`: a clip the
    project makes itself where no sample clip is at hand. A routine seen from the side ("view":
    "side", a squat) is drawn turned (drawn_yaw): drawn flat from the front, its movement would not
    show (measured with BlazePose on a 20 s squat clip: front 0 reps and a knee range of 7 deg). The
    routine's angles are drawn as a person does them (as_a_person_does: a knee lift bends the knee)."""
    from pathlib import Path

    import cv2

    width, height = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    body = Body(**{k: v * height / 480.0 for k, v in Body().__dict__.items()})
    yaw = drawn_yaw(routine)
    for i in range(int(seconds * fps)):
        xyz = pose3d(as_a_person_does(routine.target(i / fps)), center_x=width / 2, floor_y=height * 0.95,
                     body=body, yaw_deg=yaw)
        writer.write(draw_person(xyz, width, height))
    writer.release()
    return Path(path)

