"""nrp-core's DataTransfer engine: datapacks that transceiver functions send to it are streamed to
MQTT and/or appended to files, as its `dumps` config says.

    config       the engine config (MQTTBroker, MQTTPrefix, simulationID, dataDirectory,
                 streamDataPackMessage, dumps), checked, with errors that name the key
    file_format  the lines written to `<dataDirectory>/<timestamp>/<datapack>.data`
    sinks        where one datapack goes: a file, an MQTT topic
    transfer     the engine's state: the sinks of every dump, the MQTT connection, the topic index
    server       the gRPC server around it and its main (`nrp-datatransfer-engine`,
                 `python -m engines.servers.datatransfer`)

Importing any of these starts nothing.
"""
