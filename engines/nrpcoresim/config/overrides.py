"""``-o KEY=VALUE`` overrides, with NRPCoreSim's syntax.

A key is a dotted path. Inside a list, a segment is either an index (``EngineConfigs.1``) or a
``Key:Value`` selector that picks the one entry whose ``Key`` equals ``Value``
(``EngineConfigs.EngineName:python_2``); a selector value may be double-quoted when it holds a dot
(``DataPackProcessingFunctions.FileName:"tf_1.py".IsActive=false``). The value is JSON, so strings
need their quotes: ``SimulationName="x"``. One argument may hold several assignments separated by
commas; commas inside quotes or JSON brackets do not separate.

Overrides apply to the config as read, before schema defaults are filled (as in nrp-core), so a path
may not run through a key that only a default would create; only its last segment may be new.
"""

import json
import re

from engines.errors import ConfigError
from engines.nrpcoresim.config.jsonpath import format_path

_INDEX = re.compile(r"\d+")


def split_assignments(argument: str) -> list[str]:
    """Split one ``-o`` argument at the commas that are outside quotes and brackets."""
    pieces, start, depth, in_string, escaped = [], 0, 0, False, False
    for position, char in enumerate(argument):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == "," and depth <= 0:
            pieces.append(argument[start:position])
            start = position + 1
    pieces.append(argument[start:])
    return [piece.strip() for piece in pieces if piece.strip()]


def parse_override(text: str, *, file: str | None = None) -> tuple[list[str], object]:
    """Parse one ``KEY=VALUE`` assignment into its key segments and its JSON value.

    Segments stay strings: whether ``"0"`` is a list index or a key named "0" depends on the config
    the override is applied to.
    """
    key, equals, raw_value = text.partition("=")
    key, raw_value = key.strip(), raw_value.strip()
    if not equals:
        raise ConfigError(f"override {text!r} has no '=': write KEY=VALUE", file=file)
    if not key:
        raise ConfigError(f"override {text!r} has an empty key", file=file)
    segments = _split_key(key)
    if any(not segment for segment in segments):
        raise ConfigError(f"override {text!r}: key {key!r} has an empty segment", file=file, path=key)
    try:
        value = json.loads(raw_value, parse_constant=_reject_constant)
    except ValueError as err:
        detail = getattr(err, "msg", str(err))
        raise ConfigError(
            f"override {text!r}: value {raw_value!r} is not valid JSON ({detail}); "
            f'strings need quotes, e.g. {key}="{raw_value}"',
            file=file, path=_display_path(segments),
        ) from err
    return segments, value


def apply_overrides(config, overrides, *, file: str | None = None) -> None:
    """Apply ``-o`` arguments to `config` in place, in order; each may hold several assignments."""
    if isinstance(overrides, str):
        overrides = [overrides]
    for argument in overrides:
        for text in split_assignments(argument):
            segments, value = parse_override(text, file=file)
            _assign(config, segments, value, text, file)


def _assign(config, segments: list[str], value, text: str, file: str | None) -> None:
    node, walked = config, []

    def fail(reason: str, suffix: str) -> ConfigError:
        path = (format_path(walked) or "") + suffix
        return ConfigError(f"override {text!r}: {reason}", file=file, path=path)

    for position, segment in enumerate(segments):
        last = position == len(segments) - 1
        if isinstance(node, dict):
            if last:
                node[segment] = value
                return
            if segment not in node:
                where = f" in {format_path(walked)}" if walked else ""
                raise fail(f"no key {segment!r}{where} (only the last segment may name a new key)",
                           _key_suffix(walked, segment))
            walked.append(segment)
            node = node[segment]
        elif isinstance(node, list):
            index = _select(node, segment, walked, fail)
            walked.append(index)
            if last:
                node[index] = value
                return
            node = node[index]
        else:
            raise fail(f"segment {segment!r} goes through {format_path(walked) or 'the config'}, "
                       f"which is {_kind(node)}, not an object or a list", _key_suffix(walked, segment))


def _select(items: list, segment: str, walked: list, fail) -> int:
    """The index that `segment` (an index or a Key:Value selector) designates in `items`."""
    name = format_path(walked) or "the config"
    if _INDEX.fullmatch(segment):
        index = int(segment)
        if index >= len(items):
            raise fail(f"segment {segment!r}: index {index} is out of range, {name} has "
                       f"{len(items)} entries", f"[{index}]")
        return index
    key, colon, wanted = segment.partition(":")
    if not colon or not key:
        raise fail(f"segment {segment!r} is neither an index nor a Key:Value selector, "
                   f"and {name} is a list", f"[{segment}]")
    if len(wanted) >= 2 and wanted[0] == wanted[-1] == '"':
        try:
            wanted = json.loads(wanted)
        except ValueError:
            raise fail(f"selector {segment!r}: {wanted} is not a valid quoted string",
                       f"[{segment}]") from None
    matches = [index for index, item in enumerate(items)
               if isinstance(item, dict) and key in item and _as_text(item[key]) == wanted]
    if not matches:
        raise fail(f"selector {segment!r}: no entry of {name} has {key} equal to {wanted!r}",
                   f"[{segment}]")
    if len(matches) > 1:
        # Applying the change to an arbitrary one of several entries would hide a mistake.
        raise fail(f"selector {segment!r} matches entries {matches} of {name}; use an index",
                   f"[{segment}]")
    return matches[0]


def _split_key(key: str) -> list[str]:
    """Split a dotted key at the dots outside double quotes (a selector value may hold dots)."""
    segments, current, in_string = [], "", False
    for char in key:
        if char == '"':
            in_string = not in_string
        if char == "." and not in_string:
            segments.append(current.strip())
            current = ""
        else:
            current += char
    segments.append(current.strip())
    return segments


def _display_path(segments: list[str]) -> str | None:
    """A key written as a JSON path, before knowing the config: digits read as list indexes."""
    text = ""
    for segment in segments:
        if _INDEX.fullmatch(segment) or ":" in segment:
            text += f"[{segment}]"
        else:
            text += f".{segment}" if text else segment
    return text or None


def _key_suffix(walked: list, segment: str) -> str:
    return f".{segment}" if walked else segment


def _as_text(value) -> str:
    """A config value as a selector would spell it: strings bare, anything else as JSON (1, true)."""
    return value if isinstance(value, str) else json.dumps(value)


def _kind(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return "a string" if isinstance(value, str) else type(value).__name__


def _reject_constant(name: str):
    # Python's json accepts NaN and Infinity; JSON (and nrp-core's parser) does not.
    raise ValueError(f"{name} is not JSON")
