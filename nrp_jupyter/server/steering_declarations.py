"""An experiment's steering controls: the optional `steering.json` beside its config.

    {"controls": [{"engine": "cartpole", "datapack": "push", "field": "force", "kind": "slider",
                   "range": [-20, 20], "step": 0.5, "label": "Push the cart (N)"}, ...]}

`kind` is `slider` (needs `range`), `number` (`range` optional) or `toggle` (a boolean field).
`type` names the protobuf message of a protobuf datapack (absent: a JSON datapack), `initial` the
value a control shows before any steering. The file is checked at launch (a typed 400 naming the
file and the key), served by `GET .../simulation/<id>/steering`, and a steering request for a
declared field is held to its kind and range.

A control steers its datapack with `{<field>: value}` alone, which replaces the whole datapack for
the step: an engine whose datapack has several steerable fields keeps the ones a value leaves out
(cartpole's `steer`, braitenberg_mujoco's `pillar` do).
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

import jsonschema

from .errors import InvalidSteering

FILE_NAME = "steering.json"

_NAME = {"type": "string", "minLength": 1, "maxLength": 255}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["controls"],
    "additionalProperties": False,
    "properties": {
        "controls": {
            "type": "array",
            "maxItems": 100,
            "items": {
                "type": "object",
                "required": ["engine", "datapack", "field", "kind", "label"],
                "additionalProperties": False,
                "properties": {
                    "engine": _NAME,
                    "datapack": _NAME,
                    "field": _NAME,
                    "kind": {"enum": ["slider", "toggle", "number"]},
                    "range": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2},
                    "step": {"type": "number", "exclusiveMinimum": 0},
                    "label": {"type": "string", "maxLength": 200},
                    "type": _NAME,
                    "initial": {"type": ["number", "boolean"]},
                },
                "if": {"properties": {"kind": {"const": "slider"}}},
                "then": {"required": ["range"]},
            },
        },
    },
}


def load(path: pathlib.Path, engines: set[str] | None = None, *, shown_as: str = FILE_NAME) -> list[dict]:
    """The controls `path` declares ([] when there is no such file); InvalidSteering naming
    `shown_as` and the key otherwise. `engines`: the config's engine names, which controls must use."""
    if not path.is_file():
        return []
    try:
        document = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise InvalidSteering(f"{shown_as}: not a JSON file: {error}", file=shown_as) from None
    failure = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(SCHEMA).iter_errors(document))
    if failure is not None:
        key = _key(failure.absolute_path)
        raise InvalidSteering(f"{shown_as}: {key or 'the document'}: {failure.message}", key=key, file=shown_as)
    controls = document["controls"]
    for index, control in enumerate(controls):
        low_high = control.get("range")
        if low_high is not None and not low_high[0] < low_high[1]:
            raise InvalidSteering(f"{shown_as}: controls[{index}].range: the low end must be below the high "
                                  f"end, not {low_high}", key=f"controls[{index}].range", file=shown_as)
        if engines is not None and control["engine"] not in engines:
            raise InvalidSteering(f"{shown_as}: controls[{index}].engine: no engine '{control['engine']}' in "
                                  f"the simulation config (engines: {', '.join(sorted(engines))})",
                                  key=f"controls[{index}].engine", file=shown_as)
    return controls


def check_value(controls: list[dict], engine: str, datapack: str, value: Any) -> None:
    """Holds a steering value to the kind and range of every control declared on its fields."""
    for control in controls:
        if control["engine"] != engine or control["datapack"] != datapack:
            continue
        field = control["field"]
        if not isinstance(value, dict) or field not in value:
            continue
        given = value[field]
        key = f"value.{field}"
        if control["kind"] == "toggle":
            if not isinstance(given, bool):
                raise InvalidSteering(f"{key}: '{control['label']}' is a toggle: true or false, not {given!r}",
                                      key=key)
            continue
        if isinstance(given, bool) or not isinstance(given, (int, float)):
            raise InvalidSteering(f"{key}: '{control['label']}' takes a number, not {given!r}", key=key)
        low_high = control.get("range")
        if low_high is not None and not low_high[0] <= given <= low_high[1]:
            raise InvalidSteering(f"{key}: {given!r} is outside the range of '{control['label']}' "
                                  f"({low_high[0]} to {low_high[1]})", key=key)


def _key(path) -> str:
    key = ""
    for part in path:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    return key
