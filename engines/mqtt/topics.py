"""NRP's MQTT topic names; the only place in the project where topic strings are built.

Every topic is ``[<prefix>/]nrp_simulation/<sim_id>/<leaf>`` (NRP spec §1.5). The prefix and the
names that go into a topic come from configuration and from experiment files, so they are checked
here: a ``+`` or ``#`` in them would turn a publication into a wildcard (paho refuses it, or, worse,
a subscriber's filter matches more than it should), and a ``/`` in a name would move a message into
another simulation's or another datapack's topic.
"""

import secrets

__all__ = [
    "client_id",
    "data",
    "data_filters",
    "data_item",
    "lifecycle",
    "runtime_error",
    "simulation_base",
    "status",
    "steering",
    "validate_name",
    "validate_prefix",
    "welcome",
]

_WILDCARDS = ("+", "#")
_NUL = "\0"


def validate_prefix(prefix: str) -> str:
    """Return `prefix` if it can start a topic, else raise ValueError naming it.

    An empty prefix is allowed and means "no prefix". A prefix may have several levels (``a/b``)
    but no empty level, no MQTT wildcard, no NUL, and may not start with ``$`` (brokers reserve
    those topics, e.g. ``$SYS``).
    """
    if not isinstance(prefix, str):
        raise ValueError(f"MQTT prefix must be a string, not {prefix!r}")
    if not prefix:
        return prefix
    if any(char in prefix for char in (*_WILDCARDS, _NUL)):
        raise ValueError(f"MQTT prefix {prefix!r} contains an MQTT wildcard ('+', '#') or NUL")
    if prefix.startswith("$"):
        raise ValueError(f"MQTT prefix {prefix!r} starts with '$', which brokers reserve")
    if "" in prefix.split("/"):
        raise ValueError(f"MQTT prefix {prefix!r} has an empty topic level (leading, trailing or double '/')")
    return prefix


def validate_name(name: str | int, what: str = "name") -> str:
    """Return `name` as text if it can be one topic level, else raise ValueError naming it.

    Used for simulation ids, datapack names and client-id roles: non-empty, and no ``/``,
    wildcard or NUL.
    """
    if isinstance(name, bool) or not isinstance(name, (str, int)):
        raise ValueError(f"MQTT {what} must be a string or an integer, not {name!r}")
    text = str(name)
    if not text:
        raise ValueError(f"MQTT {what} must not be empty")
    if any(char in text for char in (*_WILDCARDS, _NUL, "/")):
        raise ValueError(f"MQTT {what} {text!r} contains '/', an MQTT wildcard ('+', '#') or NUL")
    return text


def simulation_base(prefix: str, sim_id: str | int) -> str:
    """``[<prefix>/]nrp_simulation/<sim_id>``, the base the frontend subscribes under."""
    prefix = validate_prefix(prefix)
    base = f"nrp_simulation/{validate_name(sim_id, 'simulation id')}"
    return f"{prefix}/{base}" if prefix else base


def status(prefix: str, sim_id: str | int) -> str:
    """Status and progress messages (about 1 Hz while a simulation runs)."""
    return f"{simulation_base(prefix, sim_id)}/status"


def runtime_error(prefix: str, sim_id: str | int) -> str:
    """Errors to show the user: compile, loading, runtime and timeout errors."""
    return f"{simulation_base(prefix, sim_id)}/runtime_error"


def lifecycle(prefix: str, sim_id: str | int) -> str:
    """The lifecycle synchronisation messages of NRP spec §1.4."""
    return f"{simulation_base(prefix, sim_id)}/lifecycle"


def steering(prefix: str, sim_id: str | int) -> str:
    """Steering applied to the simulation's engines (our topic, not NRP's): one message per datapack
    that reached its engine, in the order the loop applied them."""
    return f"{simulation_base(prefix, sim_id)}/steering"


def data(prefix: str, sim_id: str | int) -> str:
    """The retained list of datapack topics published by the datatransfer engine."""
    return f"{simulation_base(prefix, sim_id)}/data"


def data_item(prefix: str, sim_id: str | int, datapack: str) -> str:
    """The stream of one datapack."""
    return f"{data(prefix, sim_id)}/{validate_name(datapack, 'datapack name')}"


def data_filters(prefix: str) -> list[str]:
    """Subscription filters for the datatransfer engines' topics of every simulation: the
    retained index ``[<prefix>/]nrp_simulation/+/data`` and the datapacks ``.../data/#``.

    ``+`` stands for any simulation id.
    """
    prefix = validate_prefix(prefix)
    base = f"{prefix}/nrp_simulation/+/data" if prefix else "nrp_simulation/+/data"
    return [base, f"{base}/#"]


def welcome(prefix: str, sim_id: str | int) -> str:
    """The datatransfer engine's retained hello and goodbye."""
    return f"{simulation_base(prefix, sim_id)}/welcome"


def client_id(prefix: str, role: str) -> str:
    """A client id unique to this call: ``<prefix>_<role>_<random>``, or ``<role>_<random>``.

    NRP uses fixed ids (``"<prefix>_nrp_backend"``), so two backends on one broker take each
    other's session over and disconnect each other (TODO NRRPLT-8917 in NRP); the random part
    keeps two servers, or a server and its restarted self, apart.
    """
    prefix = validate_prefix(prefix)
    role = validate_name(role, "client role")
    # Levels of a multi-level prefix become words: client ids are not topics, and some brokers
    # accept only letters, digits, '-' and '_' in them.
    words = [prefix.replace("/", "_")] if prefix else []
    return "_".join([*words, role, secrets.token_hex(4)])
