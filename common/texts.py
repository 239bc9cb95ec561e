"""The words shown to people (TV, voice, the carer's report), per locale: common/locales/<locale>.json."""
from __future__ import annotations

import json
from importlib import resources

LOCALES = ("ko", "en")


def load_texts(locale: str) -> dict[str, str]:
    return json.loads(resources.files("common").joinpath("locales").joinpath(f"{locale}.json").read_text(encoding="utf-8"))
