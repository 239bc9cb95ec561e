"""The JSON Schemas of the input files in docs/schemas come from the code's models, never written
by hand: this test fails when a model changed and the published schema did not. Regenerate with

    SILVERGYM_WRITE_SCHEMAS=1 .venv/bin/python -m pytest tests/test_schemas.py
"""
from __future__ import annotations

import json
import os

import pytest

from tests.conftest import REPO


def generated() -> dict[str, dict]:
    from common.coach.program import ProgramFile
    from common.coach.routine import RoutineFile
    from common.config import Config

    out = {}
    for name, model, title in (("routine", RoutineFile, "silvergym routine file"),
                               ("program", ProgramFile, "silvergym program file"),
                               ("config", Config, "silvergym config (/etc/silvergym/silvergym.toml)")):
        schema = model.model_json_schema()
        schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": title,
                  **{k: v for k, v in schema.items() if k != "title"}}
        out[name] = schema
    return out


def text(schema: dict) -> str:
    return json.dumps(schema, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


@pytest.mark.parametrize("name", ["routine", "config", "program"])
def test_the_published_schema_is_the_models(name):
    path = REPO / "docs" / "schemas" / f"{name}.schema.json"
    want = text(generated()[name])
    if os.environ.get("SILVERGYM_WRITE_SCHEMAS") == "1":
        path.write_text(want, encoding="utf-8")
    assert path.exists() and path.read_text(encoding="utf-8") == want, (
        f"{path} differs from the code's model; regenerate it (see this file's docstring)")


def test_every_field_is_described_and_every_bundled_routine_fits_the_schema():
    import jsonschema

    from common.coach import routine as routines

    def undescribed(node, at="") -> list[str]:
        missing = []
        for key, prop in (node.get("properties") or {}).items():
            if "description" not in prop:
                missing.append(f"{at}{key}")
        for name, sub in (node.get("$defs") or {}).items():
            missing += undescribed(sub, f"{name}.")
        return missing

    schemas = generated()
    for name, schema in schemas.items():
        assert not undescribed(schema), f"{name}: fields without a description: {undescribed(schema)}"
    validator = jsonschema.Draft202012Validator(schemas["routine"])
    for name in routines.bundled():
        data = json.loads((REPO / "common/coach/routines" / f"{name}.json").read_text(encoding="utf-8"))
        errors = list(validator.iter_errors(data))
        assert not errors, f"{name}: {errors[0].message}"
    bad = json.loads((REPO / "common/coach/routines/squat.json").read_text(encoding="utf-8"))
    bad["joints"]["left_knee"]["tolerence"] = 3
    assert list(validator.iter_errors(bad)), "the schema must refuse an unknown key, as the code does"


@pytest.mark.parametrize("kind", ["alert", "session", "health", "status"])
def test_the_mqtt_contract_in_docs_is_the_one_the_collector_checks(kind):
    """docs/schemas publishes the central side's own schemas (common/central/schemas), byte for byte:
    the copy in docs had fallen behind (participant_name, the alert's test field)."""
    published = REPO / "docs/schemas" / f"{kind}.schema.json"
    checked = REPO / "common/central/schemas" / f"{kind}.schema.json"
    assert published.read_bytes() == checked.read_bytes(), (
        f"{published} differs from {checked}: copy the collector's schema over it")
