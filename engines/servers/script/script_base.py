"""What every engine script shares, whatever protocol serves it: state, hooks and errors.

The protocol-specific bases (`json_script.EngineScript`, `grpc_script.GrpcEngineScript`) add
the datapack helpers, whose value type differs (JSON values vs protobuf messages).
"""


class DataPackNotRegistered(KeyError):
    """A datapack name the script never registered with `_registerDataPack`.

    The messages keep nrp-core's wording ("Attempting to get data from an unregistered DataPack
    (name)"), which its users and its unit tests look for, prefixed with the engine's name.
    """

    def __init__(self, engine: str, name: str, attempt: str = "get data from", *, message: str | None = None):
        self.engine = engine
        self.name = name
        super().__init__(message or f"[{engine}] Attempting to {attempt} an unregistered DataPack ({name})")

    # KeyError's str() is the repr of its argument; the message reads better unquoted.
    def __str__(self) -> str:
        return self.args[0]


class DataPackAlreadyRegistered(ValueError):
    """A second `_registerDataPack` for a name that is already registered."""

    def __init__(self, engine: str, name: str):
        self.engine = engine
        self.name = name
        super().__init__(f"[{engine}] While registering Datapack. DataPack with specified name ({name}) "
                         f"already registered")


class ScriptBase:
    """State and hooks of an nrp-core engine script.

    The server fills `_name` (the engine's name) and `_config` (the initialize request's config
    dict), calls `_prepare(config)`, then `initialize()`, and keeps `_time_ns` (engine time,
    integer ns).
    """

    # State lives in __new__ so that a Script whose __init__ forgets super().__init__() still
    # has it: nrp-core scripts routinely define __init__ without calling the base class.
    def __new__(cls, *args, **kwargs):
        self = super().__new__(cls)
        self._datapacks = {}
        self._time_ns = 0
        self._name = ""
        self._config = {}
        return self

    def _prepare(self, config: dict) -> None:
        """Called once, after `_name` and `_config` are set and before `initialize()`.

        For what a base class builds from the config before the user's `initialize()` runs (the
        user's Script overrides `initialize`, and often forgets to call the base's); a failure
        here fails the initialize request like one in `initialize()`.
        """

    def initialize(self) -> None:
        """Called once, after the server has set `_name` and `_config`."""

    def runLoop(self, timestep_ns: int) -> None:
        """Advance the simulation by `timestep_ns`; `_time_ns` already includes the step."""
        raise NotImplementedError(f"{type(self).__name__} must define runLoop(self, timestep_ns)")

    def shutdown(self) -> None:
        """Called once, before the engine process exits."""

    def reset(self) -> None:
        """Called first; `_time_ns` goes back to 0 once it returns (and stays if it raises)."""

    def _getRegisteredDataPackNames(self) -> list[str]:
        return list(self._datapacks)

    def _getEngineName(self) -> str:
        return self._name

    def _advanceTime(self, timestep_ns: int) -> None:
        self._time_ns += timestep_ns

    def _checkRegistered(self, name: str, attempt: str = "get data from") -> None:
        if name not in self._datapacks:
            raise DataPackNotRegistered(self._name, name, attempt)

    def _checkNotRegistered(self, name: str) -> None:
        if name in self._datapacks:
            raise DataPackAlreadyRegistered(self._name, name)
