"""The `nrp_jupyter` server extension: configuration, and the services the handlers use.

Every knob is a trait of `NrpJupyterApp` (`c.NrpJupyterApp.<name>` in jupyter_server_config.py or
`--NrpJupyterApp.<name>=` on the command line). NRP's environment variables (NRP_MQTT_BROKER_ADDRESS,
NRP_MQTT_PREFIX, NRP_SIMULATION_DIR, STORAGE_ADDRESS and STORAGE_PORT) give the defaults of the
matching traits.
"""

from __future__ import annotations

import os
import pathlib
import threading

from jupyter_core.paths import jupyter_data_dir
from jupyter_server.extension.application import ExtensionApp
from traitlets import Bool, Float, Int, Unicode, default, validate

from .handlers import fallback_handler, handlers


class NrpJupyterApp(ExtensionApp):
    name = "nrp_jupyter"
    description = "NRP v4's simulation backend in a Jupyter server"

    storage_dir = Unicode("", config=True, help="""Folder of experiments, one sub-folder each in nrp-core's
        format (simulation_config.json, main_script.py, ...). Relative to the server's root_dir;
        empty means `experiments` under root_dir.""")
    simulations_dir = Unicode(config=True, help="""Folder under which each simulation gets a directory
        of its own while it runs (removed at stop). Empty means the system's temporary folder.
        Default: $NRP_SIMULATION_DIR.""")
    mqtt_broker = Unicode(config=True, help="""MQTT broker as host:port. Empty means an embedded broker
        started with the server (see embedded_broker_port). Default: $NRP_MQTT_BROKER_ADDRESS.""")
    kernel_mqtt_broker = Unicode("", config=True, help="""MQTT broker as host:port as experiment kernels
        and their engines reach it, when that differs from mqtt_broker (kernels on a gateway or engines
        on other machines, where the server's 127.0.0.1 is not theirs). Empty means mqtt_broker.""")
    embedded_broker_port = Int(1883, config=True, help="""TCP port of the embedded broker, on 127.0.0.1;
        when taken, a free port is used (logged). Only used when mqtt_broker is empty.""")
    embedded_broker_websockets_port = Int(8883, config=True, help="""Port of the embedded broker's MQTT
        over websockets listener, on 127.0.0.1, for browsers (NRP's frontend: its config's mqtt.port,
        8883 in NRP's local config). When taken, a free port is used (logged); 0 turns the listener
        off. Only used when mqtt_broker is empty.""")
    nrp_proxy_url = Unicode(config=True, help="""NRP mode: the address of NRP's proxy (nrp-proxy) as
        NRP's backend reaches it, e.g. http://localhost:9000/storage behind NRP's haproxy, or the proxy
        itself, http://localhost:8443. Set, the /nrp/ routes accept NRP's `Authorization: Bearer`
        tokens (the proxy's /identity/me names the user, who owns what they launch), launches by such
        a token fetch the experiment from the proxy's storage and upload the run's archives back at
        stop, and GET /nrp/simulation and GET /nrp/version answer without authentication, as NRP's
        do. Empty (the default): off. Default: http://$STORAGE_ADDRESS:$STORAGE_PORT/storage when
        STORAGE_ADDRESS is set (NRP's backend's variables; STORAGE_PORT 9000 if unset).""")
    nrp_identity_cache_seconds = Float(60.0, config=True, help="""NRP mode: seconds the proxy's answer
        about a bearer token is reused before the proxy is asked again; a token the proxy stops
        accepting (an expired login) is refused at the latest this long after. 0 asks every time.""")
    nrp_proxy_timeout = Float(60.0, config=True, help="""NRP mode: seconds one request to the proxy may
        take (an identity check, a folder listing, one file's download or upload) before it fails
        with 503 naming the proxy.""")
    nrp_experiment_max_bytes = Int(1024 ** 3, config=True, help="""NRP mode: bytes an experiment fetched
        from the proxy's storage may hold (all its files); a larger one is refused with 413.""")
    mqtt_prefix = Unicode(config=True, help="""Prefix of every MQTT topic (`<prefix>/nrp_simulation/<id>/...`)
        and client id; may be empty. Default: $NRP_MQTT_PREFIX.""")
    max_simulations = Int(4, config=True, help="""Simulations that may be active (not stopped or failed)
        at once. A launch beyond it answers 409; with 1 the server behaves exactly as NRP's.""")
    stop_grace = Float(1.0, config=True, help="""Seconds a simulation gets to stop cooperatively
        (script, NRPCoreSim, engines) before its processes are killed and its kernel shut down.""")
    kernel_name = Unicode("python3", config=True, help="""Kernel spec of experiment kernels; its
        environment must have nrp-jupyter installed.""")
    warm_kernels = Int(0, config=True, help="""Experiment kernels started ahead and kept waiting, so that a
        launch takes one instead of starting its own (about a second less per launch). Each is taken
        by one launch, ends with its simulation and is replaced in the background once the launch has
        answered; each waiting kernel holds the memory of an idle kernel (on the kernel gateway, with
        --gateway-url). 0 (the default): off.""")
    status_interval = Float(1.0, config=True, help="Seconds between two status messages of a simulation.")
    launch_timeout = Float(60.0, config=True, help="""Seconds a launch may take (kernel start, NRPCoreSim
        and engine initialisation) before it fails.""")
    kernel_output_limit = Int(32 * 1024 * 1024, config=True, help="""Bytes of an experiment kernel's output
        (the main script's prints) its simulation log keeps; beyond them output is dropped and the log
        says how much.""")
    record_runs = Bool(True, config=True, help="""Record every simulation, from launch to stop, into an MCAP
        file (status, lifecycle transitions, runtime errors, steering events and the datatransfer
        engines' datapacks, with wall-clock and simulation time), archived beside its logs as
        <stamp>_simulation_<id>.mcap and served by GET /nrp/simulation/<id>/recording. False: no
        recording is written.""")
    _broker = None
    _stopping = False
    _service = None
    _recorder = None

    database_path = Unicode(config=True, help="""SQLite file holding the simulation records, kept across
        server restarts. Default: one file per server root, nrp_jupyter/roots/<root name>-<hash of its
        path>/simulations.sqlite in Jupyter's data directory, so that simulation ids count per root.
        Servers given the same file share their records and ids.""")

    @default("simulations_dir")
    def _default_simulations_dir(self):
        return os.environ.get("NRP_SIMULATION_DIR", "")

    @default("mqtt_broker")
    def _default_mqtt_broker(self):
        return os.environ.get("NRP_MQTT_BROKER_ADDRESS", "")

    @default("mqtt_prefix")
    def _default_mqtt_prefix(self):
        return os.environ.get("NRP_MQTT_PREFIX", "")

    @default("nrp_proxy_url")
    def _default_nrp_proxy_url(self):
        address = os.environ.get("STORAGE_ADDRESS", "")
        return f"http://{address}:{os.environ.get('STORAGE_PORT', '9000')}/storage" if address else ""

    @validate("nrp_proxy_url")
    def _validate_nrp_proxy_url(self, proposal):
        url = proposal["value"].strip()
        if url and not url.startswith(("http://", "https://")):
            raise ValueError(f"nrp_proxy_url must be an http:// or https:// address, not {url!r}")
        return url

    @default("database_path")
    def _default_database_path(self):
        from .registry import default_database_path

        return str(default_database_path(pathlib.Path(jupyter_data_dir()), pathlib.Path(self.serverapp.root_dir)))

    def initialize_handlers(self):
        from .recording_handlers import recording_handlers

        self.handlers.extend([*handlers(nrp_mode=bool(self.nrp_proxy_url)), *recording_handlers(),
                              fallback_handler()])

    def initialize_settings(self):
        # Simulations failed at start-up whose failure is not yet published (_announce_recovered).
        self._recovered = []
        self._recovered_lock = threading.Lock()

        from engines.mqtt import topics
        from engines.mqtt.publisher import MqttPublisher

        from .data_bridge import DataBridge
        from .errors import RecordsUnavailable
        from .registry import Registry
        from .simulations import Settings, SimulationService
        from .status_publisher import StatusPublisher
        from .storage import ExperimentStorage

        root = pathlib.Path(self.serverapp.root_dir)
        self._storage = ExperimentStorage(root / (self.storage_dir or "experiments"),
                                          pathlib.Path(self.simulations_dir) if self.simulations_dir else None)
        try:
            self._registry = Registry(self.database_path)
        except RecordsUnavailable as refusal:
            # The extension stays loaded and says what is wrong on every route (503), rather than
            # vanishing behind Jupyter's HTML 404s; nothing starts that could touch simulations.
            self.log.error("nrp_jupyter: %s", refusal.message)
            self.settings.update({"nrp_unavailable": refusal})
            return
        highest = self._storage.highest_archived_id()
        if highest is not None:
            self._registry.reserve_ids_below(highest + 1)
        broker = self.mqtt_broker or self._start_embedded_broker()
        node_id = topics.client_id(self.mqtt_prefix, "nrp_backend")
        # Connects in the background and reconnects by itself: the server never waits for the broker.
        self._mqtt = MqttPublisher(broker, node_id, on_connection_change=self._announce_recovered)
        publisher = StatusPublisher(self._mqtt, self.mqtt_prefix, node_id)
        self._publisher = publisher
        # Datatransfer engines' streams, decoded for the /events listeners (live plots).
        self._data_bridge = DataBridge(broker, self.mqtt_prefix, publisher, self.serverapp.io_loop.asyncio_loop)
        if self._broker is None:
            self._start_mqtt_clients()
        else:
            # The embedded broker listens once the server's loop runs; clients started before that
            # would find no broker and warn about it.
            self._broker_started.add_done_callback(lambda _: self._start_mqtt_clients())
        self._recover()
        proxy = self._start_nrp_mode() if self.nrp_proxy_url else None
        pool = self._kernel_pool()
        self._service = SimulationService(
            registry=self._registry, storage=self._storage, kernel_manager=self.serverapp.kernel_manager,
            publisher=publisher,
            settings=Settings(kernel_name=self.kernel_name, max_simulations=self.max_simulations,
                              status_interval_s=self.status_interval, stop_grace_s=self.stop_grace,
                              launch_timeout_s=self.launch_timeout, mqtt_prefix=self.mqtt_prefix,
                              output_limit_bytes=self.kernel_output_limit,
                              engine_broker=self.kernel_mqtt_broker or broker,
                              # An experiment's code must not get the token that drives the server.
                              secrets=(self.serverapp.identity_provider.token,)),
            proxy=proxy, pool=pool)
        if pool is not None:
            pool.refill()  # on the server's loop, as soon as it runs
        self.settings.update({"nrp_simulations": self._service, "nrp_publisher": publisher, "nrp_kernel_pool": pool,
                              "nrp_storage": self._storage})
        self._start_recording(publisher)
        self.log.info("nrp_jupyter: experiments in %s, MQTT broker %s%s, prefix %r", self._storage.root, broker,
                      " (embedded)" if self._broker else "", self.mqtt_prefix)

    def _start_mqtt_clients(self) -> None:
        if not self._stopping:
            self._mqtt.start()
            self._data_bridge.start()

    def _start_recording(self, publisher) -> None:
        """The run recorder (record_runs): one more listener of the publisher, and of the datapack stream."""
        from .recording.reads import Recordings
        from .recording.recorder import RunRecorder

        if self.record_runs:
            self._recorder = RunRecorder(self._storage, self._service.get, self.mqtt_prefix)
            self._recorder.start()
            publisher.add_listener(self._recorder.listen)
            self._data_bridge.add_tap(self._recorder.tap)
        self.settings["nrp_recordings"] = Recordings(self._service, self._storage, self._recorder)

    def _kernel_pool(self):
        """The warm kernels of `warm_kernels`, or None when it is 0."""
        from .kernel_pool import KernelPool, pool_directory

        if self.warm_kernels <= 0:
            return None
        return KernelPool(self.serverapp.kernel_manager, size=self.warm_kernels, kernel_name=self.kernel_name,
                          directory=pool_directory(self.simulations_dir), start_timeout_s=self.launch_timeout,
                          secrets=(self.serverapp.identity_provider.token,), log=self.log)

    def _start_nrp_mode(self):
        """The NRP proxy's identity provider for the /nrp/ routes, and its storage for launches."""
        from .identity import IdentityCache, ProxyIdentityProvider
        from .nrp_proxy import ProxyClient
        from .proxy_storage import FetchLimits, ProxyExperiments

        client = ProxyClient(self.nrp_proxy_url, timeout_s=self.nrp_proxy_timeout)
        provider = ProxyIdentityProvider(server_provider=self.serverapp.identity_provider,
                                         identities=IdentityCache(client, self.nrp_identity_cache_seconds),
                                         log=self.log)
        self.settings.update({"nrp_identity_provider": provider})
        self.log.info("nrp_jupyter: NRP mode, proxy %s: bearer tokens accepted on /nrp/, GET /nrp/simulation "
                      "and /nrp/version open", client.url)
        return ProxyExperiments(client, FetchLimits(max_bytes=self.nrp_experiment_max_bytes))

    def _start_embedded_broker(self) -> str:
        """Starts the embedded broker on the server's event loop (now, or as soon as it runs)."""
        import asyncio

        from .broker import EmbeddedBroker

        host = "127.0.0.1"
        self._broker = EmbeddedBroker(host, self.embedded_broker_port,
                                      websockets_port=self.embedded_broker_websockets_port or None)
        # The port is settled here, so that the publisher's address is known before the loop runs.
        port = self._broker.choose_port()
        self._broker_started = asyncio.ensure_future(self._broker.start())
        return f"{host}:{port}"

    def _recover(self) -> None:
        """Records left running by a previous server are failed, their processes ended, their logs
        archived, and their failure published on MQTT."""
        from .kernel_runner import kill_process_tree
        from .process_sweep import end_processes_of
        from .run_logs import archive_run

        recovered = self._registry.recover("the Jupyter server stopped while the simulation was running")
        for record in recovered:
            if record.nrpcoresim_pid and _is_nrpcoresim(record.nrpcoresim_pid):
                kill_process_tree(record.nrpcoresim_pid)
            # What outlived the server, its kernel and whatever the simulation detached included.
            end_processes_of(record.simulation_dir)
            if record.simulation_dir and pathlib.Path(record.simulation_dir).is_dir():
                simulation_dir = pathlib.Path(record.simulation_dir)
                try:
                    # Logs and datatransfer dumps, as a stop keeps them; the directory stays if the
                    # data cannot be archived.
                    if archive_run(self._storage, record, simulation_dir):
                        self._storage.remove(simulation_dir)
                except Exception:  # noqa: BLE001 (the record is failed anyway; keep going)
                    self.log.warning("nrp_jupyter: could not archive simulation %d", record.simulation_id)
        with self._recovered_lock:
            self._recovered.extend(recovered)
        self._announce_recovered(self._mqtt.connected)

    def _announce_recovered(self, connected: bool) -> None:
        """Publishes the failure of the simulations a previous server left running, once the broker
        is reached: that server died before it could, and a frontend would wait on them forever.
        Called on paho's thread at each connect (and at recovery); the publishing itself happens on
        the server's loop, which is where /events listeners may be written to."""
        if connected:
            self.serverapp.io_loop.asyncio_loop.call_soon_threadsafe(self._publish_recovered)

    def _publish_recovered(self) -> None:
        with self._recovered_lock:
            pending, self._recovered = self._recovered, []
        for record in pending:
            sid = record.simulation_id
            self._publisher.runtime_error(sid, {"msg": f"The simulation failed: {record.reason}",
                                                "error_type": "Runtime", "fileName": record.main_script,
                                                "line_number": -1, "offset": -1, "line_text": ""})
            status = {"realTime": 0.0, "simulationTime": 0.0, "simulationTimeLeft": 0.0,
                      **(record.last_status or {}), "state": record.state.value}
            self._publisher.status(sid, status)

    async def stop_extension(self):
        if self._service is None:  # the records were unavailable: nothing was started
            return
        self._stopping = True
        await self._service.close()
        if self._recorder is not None:
            import asyncio

            await asyncio.to_thread(self._recorder.stop)
        self._data_bridge.stop()
        self._mqtt.stop()
        if self._broker is not None:
            await self._broker_started
            await self._broker.stop()
            self._broker = None
        self._registry.close()

    def current_activity(self):
        return bool(self._service and self._service.active())


def _is_nrpcoresim(pid: int) -> bool:
    # The pid may have been reused since the record was written: only ever kill an NRPCoreSim.
    import psutil

    try:
        return any("NRPCoreSim" in part for part in psutil.Process(pid).cmdline())
    except psutil.Error:
        return False

