"""The plotted datapacks: bounded numeric series and the latest image of each datapack.

The datatransfer engine streams `data/<datapack>` payloads
`{"datapack", "type", "samples": [{"time", "values": {series: number}}], "image": {...}}`; the
panel plots whatever numeric series arrive. Each series keeps its last `max_points` samples, so
a long run costs the panel a fixed amount of memory and every update a bounded message.

A sample's `time` is when the server received it, so samples are kept with the moment they
arrived here (on the panel's clock) and plotted against the simulation time of that moment
(timeline.py). Series are named after the datapack where their field name is only the message
type's container: a `Wrappers.DoubleValue` datapack `pole_angle` plots as `pole_angle`, not
`value`, and an `NrpGenericProto.ArrayDouble` `left_eye` as `left_eye[0]`, ..., not `array[0]`.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections import deque
from collections.abc import Iterable
from typing import Any

from .frames import FrameError
from .timeline import SimulationClock

# Fields that only hold a message type's payload (Wrappers' `value`, NrpGenericProto's `array`,
# `data`): a series of one is named after its datapack instead.
CONTAINER_FIELDS = frozenset({"value", "array", "data"})
# Bytes per pixel of the encodings the panel can draw.
IMAGE_ENCODINGS = {"rgb8": 3, "mono8": 1}


def _is_number(value: Any) -> bool:
    # bool is an int to Python, but a flag is not a plottable series.
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


class DatapackPlots:
    """Series and images per datapack, optionally limited to the datapacks `chosen`."""

    def __init__(self, max_points: int = 500, chosen: Iterable[str] | None = None):
        if max_points < 2:
            raise ValueError(f"max_points must be at least 2, not {max_points}")
        self.max_points = max_points
        self.chosen = frozenset(chosen) if chosen is not None else None
        self._series: dict[str, dict[str, deque]] = {}
        self._images: dict[str, dict] = {}

    @property
    def has_series(self) -> bool:
        return bool(self._series)

    def wants(self, datapack: str) -> bool:
        return self.chosen is None or datapack in self.chosen

    def add(self, datapack: str, payload: Any, arrived: float = 0.0) -> tuple[bool, bool]:
        """Take one payload that `arrived` at that moment (s, the panel's clock); returns (series
        changed, image changed). Raises `FrameError`."""
        if not self.wants(datapack):
            return False, False
        if not isinstance(payload, dict):
            raise FrameError(f"data of datapack {datapack!r}: payload must be an object, not "
                             f"{type(payload).__name__}")
        samples = payload.get("samples", [])
        if not isinstance(samples, list):
            raise FrameError(f"data of datapack {datapack!r}: 'samples' must be a list")
        checked = [_check_sample(datapack, index, sample) for index, sample in enumerate(samples)]
        image = payload.get("image")
        checked_image = _check_image(datapack, image) if image is not None else None
        series_changed = False
        # The batch arrived with its last sample; the others were received that much earlier.
        last = max((time for time, _ in checked), default=0.0)
        for time, values in checked:
            moment = arrived - (last - time)
            for name, value in values.items():
                points = self._series.setdefault(datapack, {}).setdefault(name, deque(maxlen=self.max_points))
                points.append((moment, value))
                series_changed = True
        if checked_image is not None:
            self._images[datapack] = checked_image
        return series_changed, checked_image is not None

    def series(self, clock: SimulationClock | None = None) -> dict[str, dict[str, dict[str, list[float]]]]:
        """`{datapack: {series label: {"t": [...], "v": [...]}}}`, the plot trait's value, with `t`
        the simulation time `clock` gives for each sample's arrival (the arrival itself without one)."""
        at = clock.at if clock is not None else float
        return {datapack: {series_label(datapack, name): {"t": [at(moment) for moment, _ in points],
                                                          "v": [value for _, value in points]}
                           for name, points in by_name.items()}
                for datapack, by_name in self._series.items()}

    def images(self) -> dict[str, dict]:
        """`{datapack: {"width", "height", "encoding", "data"}}`, the latest image of each."""
        return dict(self._images)


def series_label(datapack: str, series: str) -> str:
    """`pole_angle` for the series `value` of datapack `pole_angle`, `left_eye[2]` for `array[2]`
    of `left_eye`; a field with a name of its own (`position`) keeps it."""
    field, bracket, index = series.partition("[")
    if field in CONTAINER_FIELDS:
        return f"{datapack}{bracket}{index}"
    return series


def _check_sample(datapack: str, index: int, sample: Any) -> tuple[float, dict[str, float]]:
    where = f"data of datapack {datapack!r}: samples[{index}]"
    if not isinstance(sample, dict):
        raise FrameError(f"{where} must be an object")
    time = sample.get("time")
    if not _is_number(time):
        raise FrameError(f"{where} has no numeric 'time' ({time!r})")
    values = sample.get("values", {})
    if not isinstance(values, dict):
        raise FrameError(f"{where}: 'values' must be an object")
    # Text, lists and NaN are not plottable: they are left out, the numbers still plot.
    return float(time), {str(name): float(value) for name, value in values.items() if _is_number(value)}


def _check_image(datapack: str, image: Any) -> dict:
    where = f"image of datapack {datapack!r}"
    if not isinstance(image, dict):
        raise FrameError(f"{where} must be an object")
    width, height, encoding, data = (image.get(key) for key in ("width", "height", "encoding", "data"))
    for key, value in (("width", width), ("height", height)):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise FrameError(f"{where}: {key!r} must be a positive integer, not {value!r}")
    if encoding not in IMAGE_ENCODINGS:
        raise FrameError(f"{where}: encoding {encoding!r} is not one of {sorted(IMAGE_ENCODINGS)}")
    if not isinstance(data, str):
        raise FrameError(f"{where}: 'data' must be base64 text")
    try:
        size = len(base64.b64decode(data, validate=True))
    except (binascii.Error, ValueError) as error:
        raise FrameError(f"{where}: 'data' is not base64 ({error})") from None
    expected = width * height * IMAGE_ENCODINGS[encoding]
    if size != expected:
        raise FrameError(f"{where}: {size} bytes of pixels, but {width}x{height} {encoding} needs {expected}")
    return {"width": width, "height": height, "encoding": encoding, "data": data}
