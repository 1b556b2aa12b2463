"""The server extension, as it runs inside the Jupyter server process: the REST and WebSocket
handlers, the simulations service, records, storage, experiment kernels, MQTT publishing and the
embedded broker. Nothing here runs in a user's notebook."""
