"""What a launch checks of an experiment before anything starts: its config and main script exist
inside the storage (no symbolic link leads out of it), the config is valid, and so is its optional
steering.json. Each failure is a typed 400 naming the file and the key."""

from __future__ import annotations

import pathlib

from . import steering_declarations
from .errors import ClientError, InvalidConfig
from .models import LaunchRequest


def check_experiment(root: pathlib.Path, experiment_dir: pathlib.Path, request: LaunchRequest) -> None:
    """Raises ClientError (InvalidConfig, InvalidSteering) for what would make the launch fail."""
    from engines.errors import ConfigError
    from engines.nrpcoresim.config import load_simulation_config

    config_path = inside_storage(root, experiment_dir, request.experiment_configuration, "experimentConfiguration")
    if not config_path.is_file():
        raise ClientError(f"experimentConfiguration: {request.experiment_configuration} not found in "
                          f"experiment {request.experiment_id}")
    if not inside_storage(root, experiment_dir, request.main_script, "mainScript").is_file():
        raise ClientError(f"mainScript: {request.main_script} not found in experiment "
                          f"{request.experiment_id}")
    try:
        config = load_simulation_config(config_path)
    except ConfigError as error:
        # Named relative to the storage: the server's own paths are none of the client's business.
        raise InvalidConfig(error.reason,
                            file=f"{request.experiment_id}/{request.experiment_configuration}",
                            path=error.path) from error
    engines = {engine.get("EngineName") for engine in config.get("EngineConfigs", [])}
    steering_declarations.load(config_path.parent / steering_declarations.FILE_NAME, engines,
                               shown_as=f"{request.experiment_id}/{steering_declarations.FILE_NAME}")


def inside_storage(root: pathlib.Path, experiment_dir: pathlib.Path, name: str, key: str) -> pathlib.Path:
    """The real path of the file `name` of an experiment in the storage `root` (the local storage,
    or the folder a fetched experiment is in). Refuses a name that a symbolic link leads out of
    the storage: the server would read a file no experiment holds."""
    from .storage import PathEscape, resolve_inside

    parts = (*experiment_dir.relative_to(root).parts, *pathlib.PurePosixPath(name).parts)
    try:
        return resolve_inside(root, parts, "the experiment storage")
    except PathEscape:
        # The server's own paths are none of the client's business: no link target here.
        raise ClientError(f"{key}: {name} leads out of the experiment storage "
                          f"(through a symbolic link)") from None
