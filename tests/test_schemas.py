"""The documented JSON Schemas agree with the loaders on the shipped files."""

import datetime as dt
import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from corridor_core.agreement import agreement_to_dict, load_agreement
from corridor_core.map_io import load_map, map_to_dict

ROOT = Path(__file__).resolve().parents[1]


def _schema(name: str) -> dict:
    return json.loads((ROOT / "docs" / "schemas" / f"{name}.schema.json").read_text())


def _plain(doc):
    """YAML dates become strings, as JSON would carry them."""
    return json.loads(
        json.dumps(doc, default=lambda o: o.isoformat() if isinstance(o, dt.date) else o)
    )


@pytest.mark.parametrize("path", sorted((ROOT / "maps").glob("*.yaml")), ids=lambda p: p.stem)
def test_shipped_maps_match_the_schema_and_so_does_a_saved_map(path: Path) -> None:
    schema = _schema("map")
    jsonschema.validate(_plain(yaml.safe_load(path.read_text())), schema)
    jsonschema.validate(map_to_dict(load_map(path)), schema)


@pytest.mark.parametrize("path", sorted((ROOT / "config" / "agreements").glob("*.yaml")),
                         ids=lambda p: p.stem)  # fmt: skip
def test_shipped_agreements_match_the_schema(path: Path) -> None:
    schema = _schema("agreement")
    jsonschema.validate(_plain(yaml.safe_load(path.read_text())), schema)
    jsonschema.validate(agreement_to_dict(load_agreement(path)), schema)


def test_schema_rejects_what_the_loader_rejects() -> None:
    doc = _plain(yaml.safe_load((ROOT / "maps" / "tan-thanh-puzhai-2027.yaml").read_text()))
    doc["segments"][0]["length_m"] = 0
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, _schema("map"))
