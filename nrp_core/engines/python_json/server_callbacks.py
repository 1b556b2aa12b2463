"""`nrp_core.engines.python_json.server_callbacks`: nrp-core's python_json engine as functions,
one per REST route, over one engine script per process (`script`).

nrp-core's Flask server calls these with the decoded request bodies; they return the response
bodies and raise on any failure (the server answers 500 with the message). Every `initialize`
loads the config's PythonFileName afresh and replaces `script`.
"""

from engines import engine_wire as wire
from engines.servers.script import script_calls
from nrp_core.data.nrp_json import JsonDataPack
from nrp_core.engines.python_json.engine_script import EngineScript

ENGINE_KIND = "PythonJSONEngine"
# The keys of a /set_datapacks entry.
DATAPACK_KEYS = frozenset((wire.DATAPACK_DATA, wire.ENGINE_NAME, wire.DATAPACK_TYPE))

script: EngineScript | None = None


def get_engine_name() -> str:
    return script._getEngineName()


def initialize(request_json: dict) -> None:
    """Loads the Script class of request_json["PythonFileName"] and runs its initialize()."""
    global script
    script_calls.check_time_ratio(request_json, ENGINE_KIND)
    # Kept even if its initialize() fails, as nrp-core keeps it (a later shutdown still reaches it).
    script = script_calls.new_script(request_json, EngineScript)
    script.initialize()
    script_calls.flush_std()


def run_loop(request_json: dict) -> dict:
    return {wire.TIME: script_calls.advance(script, request_json[wire.TIME_STEP])}


def set_datapacks(request_json: dict) -> None:
    for name, datapack in (request_json or {}).items():
        set_datapack(name, datapack)


def set_datapack(datapack_name: str, datapack: dict) -> None:
    if not DATAPACK_KEYS.issubset(datapack.keys()):
        raise ValueError(f"Malformed DataPack. Expected keys: {sorted(DATAPACK_KEYS)}; actual keys: "
                         f"{sorted(datapack.keys())} (DataPack '{datapack_name}')")
    if datapack[wire.DATAPACK_TYPE] != JsonDataPack.getType():
        raise ValueError(f"Unable to set datapacks of type '{datapack[wire.DATAPACK_TYPE]}' "
                         f"(DataPack named '{datapack_name}')")
    script._setDataPack(datapack_name, datapack[wire.DATAPACK_DATA])


def get_registered_datapack_names() -> list:
    return script._getRegisteredDataPackNames()


def get_datapacks(request_json: dict) -> dict:
    reply = {}
    for name, requested in (request_json or {}).items():
        engine_name = requested[wire.ENGINE_NAME]
        if engine_name != script._getEngineName():
            raise ValueError(f"Requesting DataPack '{name}' from incorrect engine (engine name in the request "
                             f"'{engine_name}', engine that received the request '{script._getEngineName()}')")
        reply[name] = get_datapack(name)
    return reply


def get_datapack(datapack_name: str) -> dict:
    """The datapack as a /get_datapacks entry; "data" is None while the script never set it."""
    return {wire.ENGINE_NAME: script._getEngineName(), wire.DATAPACK_TYPE: JsonDataPack.getType(),
            wire.DATAPACK_DATA: script._getDataPack(datapack_name)}


def reset(request_json) -> None:
    script_calls.reset(script)
    script_calls.flush_std()


def shutdown(request_json) -> None:
    # The script is missing when initialize failed before loading it.
    if script is not None:
        script.shutdown()
    script_calls.flush_std()
