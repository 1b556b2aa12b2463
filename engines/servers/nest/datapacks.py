"""The datapacks a brain script registers: name -> NEST object (NodeCollection or SynapseCollection).

nrp-core's brain scripts call `RegisterDataPack(name, nodes)` or `CreateDataPack(name, model, n, ...)`
at module level, with no handle on the engine. The engine therefore makes a registry *current*
while it runs the script (`collecting`), and those functions fill the current one.
"""

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

# The registry filled by the brain script now running; set only inside `collecting`.
_current: "BrainDataPacks | None" = None
_current_lock = threading.Lock()


class BrainDataPackError(ValueError):
    """A datapack registration the engine cannot accept (bad name, duplicate, not a NEST object)."""


class BrainDataPacks:
    """Datapack names of one run of a brain script, each linked to the NEST object whose status it carries."""

    def __init__(self) -> None:
        self._objects: dict[str, Any] = {}

    def register(self, name: Any, nest_object: Any) -> None:
        if not isinstance(name, str) or not name:
            raise BrainDataPackError(f"a datapack name must be a non-empty string, got {name!r}")
        if name in self._objects:
            raise BrainDataPackError(f'datapack "{name}" is already registered')
        # NodeCollection and SynapseCollection both offer get/set and a length; nothing else has a status.
        if not all(hasattr(nest_object, attribute) for attribute in ("get", "set", "__len__")):
            raise BrainDataPackError(f'datapack "{name}" must name a NEST NodeCollection or '
                                     f"SynapseCollection, got {type(nest_object).__name__}")
        self._objects[name] = nest_object

    def names(self) -> list[str]:
        return list(self._objects)

    def items(self):
        return self._objects.items()

    def __contains__(self, name: object) -> bool:
        return name in self._objects

    def __getitem__(self, name: str) -> Any:
        return self._objects[name]

    def __len__(self) -> int:
        return len(self._objects)


@contextlib.contextmanager
def collecting(registry: BrainDataPacks) -> Iterator[BrainDataPacks]:
    """Make `registry` the one `register_datapack` fills, for the duration of the block."""
    global _current
    with _current_lock:
        if _current is not None:
            raise RuntimeError("a brain script is already being run in this process")
        _current = registry
    try:
        yield registry
    finally:
        with _current_lock:
            _current = None


def register_datapack(name: str, nest_object: Any) -> None:
    """Link datapack `name` to `nest_object`: nrp-core's `RegisterDataPack`."""
    _current_registry().register(name, nest_object)


def create_datapack(name: str, *args: Any, **kwargs: Any) -> Any:
    """`nest.Create(*args, **kwargs)`, registered as datapack `name`: nrp-core's `CreateDataPack`."""
    registry = _current_registry()  # before creating anything, so a misuse leaves NEST unchanged
    import nest

    nodes = nest.Create(*args, **kwargs)
    registry.register(name, nodes)
    return nodes


def _current_registry() -> BrainDataPacks:
    registry = _current
    if registry is None:
        raise RuntimeError("RegisterDataPack and CreateDataPack work only in a brain script run by the "
                           "nest_json engine (its NestInitFileName)")
    return registry
