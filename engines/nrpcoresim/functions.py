"""Datapack processing functions: transceiver (TF), preprocessing (PF) and status (SF) functions.

Experiment files declare them with nrp-core's decorators, which stack in any order:

    @EngineDataPack(keyword="datapack_python", id=DataPackIdentifier("datapack1", "python_1"))
    @TransceiverFunction("python_2")
    def tf_1(datapack_python):
        ...
        return [JsonDataPack("rec_datapack2", "python_2")]

An input decorator applied to a plain function leaves its input on the function; the function
decorator (`TransceiverFunction`, `PreprocessingFunction`, `StatusFunction`) gathers them into a
`DataPackFunction`, to which outer input decorators add theirs.

`load_functions` binds config entries to functions as nrp-core does: each active entry executes its
file (in one namespace shared by all files), and the one function that a function decorator
registers during that execution is the entry's function, known from then on by the entry's `Name`.
The Python name of the function does not matter, so two files may both define `transceiver_function`.
"""

from __future__ import annotations

import contextvars
import enum
import inspect
import pathlib
import sys
import traceback
from dataclasses import dataclass, field

from engines.datapacks import DataPackIdentifier
from engines.errors import FunctionError, function_at


class FunctionKind(enum.Enum):
    TRANSCEIVER = "TransceiverFunction"
    PREPROCESSING = "PreprocessingFunction"
    STATUS = "StatusFunction"


@dataclass(frozen=True)
class EngineInput:
    """One datapack requested from its engine."""

    keyword: str
    id: DataPackIdentifier


@dataclass(frozen=True)
class EngineInputs:
    """Several datapacks of one engine, passed as a dict keyed by datapack name."""

    keyword: str
    names: tuple[str, ...]
    engine_name: str


@dataclass(frozen=True)
class PreprocessedInput:
    """A datapack produced by a preprocessing function in the current or an earlier iteration."""

    keyword: str
    id: DataPackIdentifier


@dataclass(frozen=True)
class TimeInput:
    """The simulation time in ns (`iteration=False`) or the iteration number (`iteration=True`)."""

    keyword: str
    iteration: bool


Input = EngineInput | EngineInputs | PreprocessedInput | TimeInput


@dataclass
class DataPackFunction:
    """A user function with its kind, its linked engine and its declared inputs."""

    kind: FunctionKind
    function: object
    engine_name: str | None
    inputs: list[Input] = field(default_factory=list)
    #: The config entry's `Name` once loaded (the Python name until then).
    name: str = ""
    #: The file as the experiment names it (the entry's `FileName`), for messages.
    file: str = ""
    line: int = 0
    #: The file the function's code was compiled from, to find its frames in a traceback.
    source_path: str = ""

    def __call__(self, **kwargs):
        return self.function(**kwargs)

    def engine_requests(self) -> list[DataPackIdentifier]:
        """The datapacks this function needs fetched from engines."""
        requested = []
        for item in self.inputs:
            if isinstance(item, EngineInput):
                requested.append(item.id)
            elif isinstance(item, EngineInputs):
                requested.extend(DataPackIdentifier(name, item.engine_name) for name in item.names)
        return requested

    def where(self) -> str:
        return function_at(self.kind.value, self.name, self.file, self.line)


def _location(function) -> tuple[str, int]:
    code = getattr(function, "__code__", None)
    return (code.co_filename, code.co_firstlineno) if code else ("<unknown>", 0)


def _attach_input(target, item: Input):
    if isinstance(target, DataPackFunction):
        target.inputs.insert(0, item)
    elif callable(target):
        pending = target.__dict__.setdefault("_nrp_inputs", [])
        pending.insert(0, item)
    else:
        raise TypeError(f"datapack input '{item.keyword}' decorates {target!r}, which is not a function")
    return target


# The functions registered by the file being loaded. A function decorator registers what it makes
# here; outside of `load_functions` (a notebook, a test) decorating registers nothing.
_registrations: contextvars.ContextVar[list[DataPackFunction] | None] = contextvars.ContextVar(
    "nrp_function_registrations", default=None)


def _make_function(kind: FunctionKind, engine_name: str | None):
    def decorate(function) -> DataPackFunction:
        if isinstance(function, DataPackFunction):
            raise TypeError(f"{function.name} is already a {function.kind.value}")
        file, line = _location(function)
        made = DataPackFunction(kind=kind, function=function, engine_name=engine_name,
                                inputs=list(function.__dict__.get("_nrp_inputs", [])),
                                name=getattr(function, "__name__", ""), file=file, line=line, source_path=file)
        registered = _registrations.get()
        if registered is not None:
            registered.append(made)
        return made
    return decorate


def TransceiverFunction(engineName: str):  # noqa: N802,N803 (nrp-core's names)
    """Declares a TF; its returned datapacks are sent to their engines when those are synced."""
    return _make_function(FunctionKind.TRANSCEIVER, engineName)


def PreprocessingFunction(engineName: str):  # noqa: N802,N803
    """Declares a PF; it reads its own engine's datapacks and feeds the preprocessed cache."""
    return _make_function(FunctionKind.PREPROCESSING, engineName)


def StatusFunction():  # noqa: N802
    """Declares the status function; it returns `(done_flag, [observations])` every iteration."""
    return _make_function(FunctionKind.STATUS, None)


def EngineDataPack(keyword: str, id: DataPackIdentifier):  # noqa: N802,A002
    return lambda target: _attach_input(target, EngineInput(keyword, id))


def EngineDataPacks(keyword: str, datapackNames, engineName: str):  # noqa: N802,N803
    return lambda target: _attach_input(target, EngineInputs(keyword, tuple(datapackNames), engineName))


def PreprocessedDataPack(keyword: str, id: DataPackIdentifier):  # noqa: N802,A002
    return lambda target: _attach_input(target, PreprocessedInput(keyword, id))


def SimulationTime(keyword: str):  # noqa: N802
    return lambda target: _attach_input(target, TimeInput(keyword, iteration=False))


def SimulationIteration(keyword: str):  # noqa: N802
    return lambda target: _attach_input(target, TimeInput(keyword, iteration=True))


@dataclass(frozen=True)
class FunctionEntry:
    """A `DataPackProcessingFunctions` / `StatusFunction` entry of the simulation config."""

    name: str
    file_name: str
    is_active: bool = True
    status: bool = False


def load_functions(entries: list[FunctionEntry], engine_names: set[str], *, namespace: dict,
                   base_dir: pathlib.Path) -> list[DataPackFunction]:
    """Executes the file of each active entry in `namespace` (shared by all files) and returns the
    function each one registered, named by its entry and checked against the experiment's engines.
    Raises FunctionError naming the file and line of the first problem."""
    _check_unique_names(entries)
    functions = []
    for entry in entries:
        # As in nrp-core, the file of an inactive entry is not even executed.
        if not entry.is_active:
            continue
        path = (base_dir / entry.file_name).resolve()
        function = _only_registration(entry, _execute_file(path, entry.file_name, namespace))
        function.name = entry.name
        function.file = _shown_path(function.source_path, path, entry.file_name, base_dir)
        expected = FunctionKind.STATUS if entry.status else None
        _check(function, entry, expected, engine_names)
        functions.append(function)
    return functions


def _check_unique_names(entries: list[FunctionEntry]) -> None:
    seen: set[str] = set()
    for entry in entries:
        if entry.status:
            continue
        if entry.name in seen:
            raise FunctionError(f"{entry.file_name}: a datapack processing function named '{entry.name}' is "
                                f"already listed in DataPackProcessingFunctions; names must be unique",
                                function=entry.name, file=entry.file_name)
        seen.add(entry.name)


def _only_registration(entry: FunctionEntry, registered: list[DataPackFunction]) -> DataPackFunction:
    decorator = "@StatusFunction()" if entry.status else "@TransceiverFunction or @PreprocessingFunction"
    if not registered:
        raise FunctionError(f"{entry.file_name}: defines no function for '{entry.name}': decorate one with "
                            f"{decorator}", function=entry.name, file=entry.file_name)
    if len(registered) > 1:
        found = ", ".join(f"'{function.function.__name__}' (line {function.line})" for function in registered)
        raise FunctionError(f"{entry.file_name}: defines {len(registered)} datapack functions ({found}); "
                            f"the file of '{entry.name}' must define exactly one",
                            function=entry.name, file=entry.file_name, line=registered[1].line)
    return registered[0]


def _shown_path(source_path: str, entry_path: pathlib.Path, entry_file: str, base_dir: pathlib.Path) -> str:
    """The function's file as the experiment's author knows it: the entry's FileName, or the path
    inside the experiment of the module that defined it."""
    source = pathlib.Path(source_path).resolve()
    if source == entry_path:
        return entry_file
    try:
        return str(source.relative_to(base_dir.resolve()))
    except ValueError:
        return source_path


def _execute_file(path: pathlib.Path, shown_name: str, namespace: dict) -> list[DataPackFunction]:
    """Runs the file; returns the functions its decorators registered."""
    try:
        source = path.read_text()
    except OSError as error:
        raise FunctionError(f"{shown_name}: cannot read function file ({error.strerror})", file=shown_name) from None
    try:
        code = compile(source, str(path), "exec")
    except SyntaxError as error:
        raise FunctionError(f"{shown_name}, line {error.lineno}: syntax error: {error.msg}",
                            file=shown_name, line=error.lineno) from None
    # Experiment files import their neighbours (helpers, message modules) by plain name.
    directory = str(path.parent)
    if directory not in sys.path:
        sys.path.insert(0, directory)
    registered: list[DataPackFunction] = []
    token = _registrations.set(registered)
    try:
        exec(code, namespace)  # noqa: S102 (running experiment code is the point)
    except Exception as error:  # noqa: BLE001 (any failure of user code is reported, named)
        line = _user_line(error, str(path))
        raise FunctionError(f"{shown_name}, line {line}: {type(error).__name__}: {error}",
                            file=shown_name, line=line) from error
    finally:
        _registrations.reset(token)
    return registered


def _user_line(error: BaseException, filename: str) -> int | None:
    frames = [frame for frame in traceback.extract_tb(error.__traceback__) if frame.filename == filename]
    return frames[-1].lineno if frames else None


def _check(function: DataPackFunction, entry: FunctionEntry, expected: FunctionKind | None,
           engine_names: set[str]) -> None:
    where = f"{entry.file_name}, line {function.line}: {function.kind.value} '{entry.name}'"

    def fail(reason: str):
        raise FunctionError(f"{where}: {reason}", function=entry.name, file=entry.file_name, line=function.line)

    if expected is FunctionKind.STATUS and function.kind is not FunctionKind.STATUS:
        fail("is listed as StatusFunction but is not decorated with @StatusFunction()")
    if expected is None and function.kind is FunctionKind.STATUS:
        fail("is a status function; list it under StatusFunction, not DataPackProcessingFunctions")
    known = ", ".join(sorted(engine_names)) or "none"
    if function.engine_name is not None and function.engine_name not in engine_names:
        fail(f"names engine '{function.engine_name}', which is not in EngineConfigs (engines: {known})")
    parameters = inspect.signature(function.function).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    keywords = [item.keyword for item in function.inputs]
    for keyword in keywords:
        if keyword not in parameters and not takes_any:
            fail(f"declares input '{keyword}', which is not a parameter of the function")
        if keywords.count(keyword) > 1:
            fail(f"declares input '{keyword}' twice")
    for identifier in function.engine_requests():
        if identifier.engine_name not in engine_names:
            fail(f"requests datapack '{identifier.name}' from engine '{identifier.engine_name}', "
                 f"which is not in EngineConfigs (engines: {known})")
        if function.kind is FunctionKind.PREPROCESSING and identifier.engine_name != function.engine_name:
            fail(f"requests datapack '{identifier.name}' from engine '{identifier.engine_name}'; a "
                 f"preprocessing function may only read its own engine ('{function.engine_name}')")
