"""Senior Fitness Test norms for the 30-second chair stand and the 30-second arm curl.

The normal ranges are those published by Rikli and Jones: the middle 50 % (25th to 75th
percentile) of community-residing Americans aged 60 to 94, by five-year age group and sex
(R. E. Rikli, C. J. Jones, "Functional fitness normative scores for community-residing older
adults, ages 60-94", Journal of Aging and Physical Activity 7(2):162-181, 1999; the same table in
their Senior Fitness Test Manual, Human Kinetics, 2001 and 2nd ed. 2013). Chair stand: full stands
from a chair in 30 s, arms crossed. Arm curl: curls in 30 s with a 5 lb (2.27 kg) dumbbell for
women, 8 lb (3.63 kg) for men.

A count below the range is "below", within it "normal", above it "above". Without an age the
70-74 group is used (about the middle of the range of ages tested), without a sex the women's
figures (the lower of the two, so that a guest is not told they are below a norm that may not be
theirs); the result says which were assumed.
"""
from __future__ import annotations

AGE_GROUPS = ((60, 64), (65, 69), (70, 74), (75, 79), (80, 84), (85, 89), (90, 94))

# test -> sex -> (low, high) per age group, in AGE_GROUPS order (Rikli & Jones 1999, table of normal ranges).
NORMAL_RANGES: dict[str, dict[str, tuple[tuple[int, int], ...]]] = {
    "chair_stand_30s": {
        "female": ((12, 17), (11, 16), (10, 15), (10, 15), (9, 14), (8, 13), (4, 11)),
        "male": ((14, 19), (12, 18), (12, 17), (11, 17), (10, 15), (8, 14), (7, 12)),
    },
    "arm_curl_30s": {
        "female": ((13, 19), (12, 18), (12, 17), (11, 17), (10, 16), (10, 15), (8, 13)),
        "male": ((16, 22), (15, 21), (14, 21), (13, 19), (13, 19), (11, 17), (10, 14)),
    },
}
DEFAULT_AGE = 72
DEFAULT_SEX = "female"
SOURCE = "Rikli & Jones 1999, Senior Fitness Test normal ranges (25th-75th percentile)"


def age_group(age: int) -> tuple[int, int]:
    """The five-year group an age falls in; younger than 60 uses 60-64, older than 94 uses 90-94."""
    for low, high in AGE_GROUPS:
        if age <= high:
            return low, high
    return AGE_GROUPS[-1]


def normal_range(test: str, age: int | None = None, sex: str | None = "") -> dict:
    """The normal range for this test, age and sex, with what was assumed."""
    sex_known = sex in ("female", "male")
    group = age_group(age if age is not None else DEFAULT_AGE)
    low, high = NORMAL_RANGES[test][sex if sex_known else DEFAULT_SEX][AGE_GROUPS.index(group)]
    return {"low": low, "high": high, "age_group": f"{group[0]}-{group[1]}", "sex": sex if sex_known else DEFAULT_SEX,
            "assumed": [k for k, known in (("age", age is not None), ("sex", sex_known)) if not known],
            "norm_source": SOURCE}


def rating(count: int, low: int, high: int) -> str:
    return "below" if count < low else "above" if count > high else "normal"
