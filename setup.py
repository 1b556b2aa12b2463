"""Packaging for nrp-jupyter. Build requirements live in pyproject.toml."""

from setuptools import find_packages, setup

setup(
    name="nrp-jupyter",
    version="0.1.0",
    description="Run interactive, multi-simulator Neurorobotics Platform experiments from Jupyter",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.11",
    packages=find_packages(include=["engines*", "nrp_core*", "nrp_protobuf*", "nrp_jupyter*", "kernel_ext*"]),
    package_data={"engines.nrpcoresim.config": ["schemas/*.json"], "nrp_protobuf": ["*.pyi"],
                  "nrp_jupyter.server": ["openapi.json"], "nrp_jupyter.notebook.panel": ["panel.js", "panel.css"]},
    # Enables the server extension on install (`jupyter server extension list` shows it).
    data_files=[("etc/jupyter/jupyter_server_config.d", ["jupyter-config/jupyter_server_config.d/nrp_jupyter.json"])],
    install_requires=[
        # The generated code in nrp_protobuf/ needs grpcio>=1.85.1 and protobuf>=7.35.1.
        "grpcio>=1.85.1,<2",
        "protobuf>=7.35.1,<8",
        "jsonschema>=4.23,<5",
        "psutil>=5.9",
        "tornado>=6.4,<7",
        "paho-mqtt>=2.1,<3",
        "jupyter_server>=2.14,<3",
        "ipykernel>=7.1,<8",
        "ipywidgets>=8.1,<9",
        # The notebook client's blocking /events WebSocket, and the control panel's.
        "websocket-client>=1.7,<2",
        "websockets>=13,<16",
        # The control panel's front end: an ES module, no npm build and no lab extension of ours.
        "anywidget>=0.9,<1",
        # The embedded MQTT broker, for runs without an external one. It pins websockets==15.0.1.
        "amqtt>=0.12,<0.13",
        "tzdata",
        # nrp-core's environment has it, and its experiments' scripts use it (generic_proto_test).
        "numpy>=1.26,<2.4",
        # Every run's recording (nrp_jupyter.server.recording): MCAP, with protobuf datapacks' schemas.
        "mcap>=1.2,<2",
        "mcap-protobuf-support>=0.5,<1",
    ],
    extras_require={
        "test": ["pytest>=8,<10", "pytest-timeout>=2.3", "pytest-jupyter>=0.10", "openapi-spec-validator>=0.7",
                 "nbclient>=0.10", "nbformat>=5.10", "jupyterlab>=4.2,<5",
                 # Fuzzing of the served OpenAPI document and of the config loader.
                 "schemathesis>=4.0,<5", "hypothesis>=6.100",
                 # Drives the system's Chromium (Debian `chromium`); it never downloads a browser.
                 "playwright>=1.50",
                 # Experiment kernels on a Jupyter Kernel Gateway (tests/gateway).
                 "jupyter_kernel_gateway>=3.0,<4",
                 # Runs the suite on every core, each worker with a live server of its own.
                 "pytest-xdist>=3.6",
                 # What nrp-core's own python_json engine server runs on (scripts/conformance/real_engines.py).
                 "flask>=3.0,<4", "gunicorn>=22", "requests>=2.31",
                 # Recording.frames() and notebooks/compare_runs.ipynb.
                 "pandas>=2.1", "matplotlib>=3.8"],
        # Analysing recordings in a notebook: Recording.frames() (pandas) and plots of them.
        "analysis": ["pandas>=2.1", "matplotlib>=3.8"],
        # The simulators behind py_sim (MuJoCo, PyBullet, Gymnasium) and the NEST engine. pybullet needs
        # numpy without declaring it; numpy 2.4 breaks several simulators' wheels.
        "sims": ["mujoco>=3.2", "pybullet>=3.2.6", "gymnasium>=1.0", "nest-simulator>=3.8", "numpy>=1.26,<2.4"],
        # Regenerating nrp_protobuf/ byte for byte needs this exact protoc.
        "dev": ["grpcio-tools==1.85.1"],
    },
    entry_points={
        "console_scripts": [
            "NRPCoreSim=engines.nrpcoresim.main:main",
            "nrp-python-json-engine=engines.servers.python_json:main",
            "nrp-python-grpc-engine=engines.servers.python_grpc:main",
            "nrp-py-sim-engine=engines.servers.py_sim:main",
            "nrp-nest-json-engine=engines.servers.nest_json:main",
            "nrp-datatransfer-engine=engines.servers.datatransfer.server:main",
            # `jupyter nrp` (Jupyter finds subcommands as `jupyter-<name>` executables).
            "jupyter-nrp=nrp_jupyter.cli:main",
        ],
    },
)
