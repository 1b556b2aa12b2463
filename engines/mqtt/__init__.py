"""The MQTT side shared by the server extension and the datatransfer engine.

    topics     NRP's topic names (status, runtime_error, lifecycle, data) and the checks on their parts
    publisher  MqttPublisher, paho on its own thread that never blocks nor raises because of the broker
    samples    datapack messages of the data stream decoded into numeric series and images

Both the Jupyter server (`nrp_jupyter`) and the datatransfer engine process import these; they import
nothing of either. Importing any of them connects nothing.
"""
