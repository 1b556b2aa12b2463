"""The NEST side of the nest_json engine: a brain script run inside the engine process.

    datapacks.BrainDataPacks    datapack name -> NEST object, filled by the brain script through
                                `register_datapack` / `create_datapack` (nrp_core.engines.nest_json's
                                RegisterDataPack / CreateDataPack)
    status                      NEST status <-> JSON datapack data, in the shape nrp-core uses
                                (nest.GetStatus: a list with one dict per node or connection)
    brain_script.BrainScript    the engine's script: runs NestInitFileName, steps NEST, resets it
    brain_host.BrainHost        the ScriptHost of a nest_json engine (initialize from the NEST keys)
    brain_devices               nrp-core's helpers that create, connect and register common devices

Nothing here imports `nest` at import time: it is imported when an engine initializes.
"""
