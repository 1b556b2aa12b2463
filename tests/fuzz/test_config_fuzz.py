"""hypothesis on the config loader and the ``-o`` override parser (engines/nrpcoresim/config).

Whatever JSON, file bytes or override text they are given, `load_simulation_config`,
`validate_simulation_config` and `apply_overrides` either succeed or raise `ConfigError`, whose
message names the file and, below the document's root, the key's path; a valid config validates to
itself again and survives JSON, and an override written from a key and a value parses back to them.
"""

import copy
import json
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engines.nrpcoresim.config import apply_overrides, load_simulation_config, parse_override, validate_simulation_config
from engines.errors import ConfigError
from tests.conftest import EXPERIMENTS

pytestmark = pytest.mark.timeout(300)

FUZZ = settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
SHIPPED = sorted(EXPERIMENTS.glob("*/simulation_config*.json"))
SHIPPED_CONFIGS = [json.loads(path.read_text()) for path in SHIPPED]

json_scalars = st.none() | st.booleans() | st.integers(-2**63, 2**63) | st.floats(allow_nan=False,
                                                                                 allow_infinity=False) | st.text()
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=20)


def leaf_paths(node, prefix=()):
    """Every (path, value) inside a JSON document; lists indexed by int."""
    yield prefix, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from leaf_paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from leaf_paths(value, (*prefix, index))


def replaced(document, path, value):
    document = copy.deepcopy(document)
    if not path:
        return value
    node = document
    for segment in path[:-1]:
        node = node[segment]
    node[path[-1]] = value
    return document


@st.composite
def mutated_configs(draw):
    """A shipped config with one place anywhere in it replaced by arbitrary JSON."""
    config = draw(st.sampled_from(SHIPPED_CONFIGS))
    path, _ = draw(st.sampled_from(list(leaf_paths(config))))
    return replaced(config, path, draw(json_values))


def check_config_error(error: ConfigError, file: str | None) -> None:
    assert error.reason, error
    assert error.file == file
    if file is not None:
        assert file in str(error)
    if error.path is not None:
        assert error.path in str(error)


def test_the_shipped_configs_are_found():
    assert len(SHIPPED) >= 5


@FUZZ
@given(config=json_values | mutated_configs())
def test_validating_any_json_gives_a_config_or_a_config_error(config):
    before = copy.deepcopy(config)
    try:
        validated = validate_simulation_config(config, file="fuzzed.json")
    except ConfigError as error:
        check_config_error(error, "fuzzed.json")
        # Only a document that is not an object is wrong at its root; anything else names a key.
        assert error.path is not None or not isinstance(config, dict), error
        return
    finally:
        assert config == before, "validation changed its argument"
    assert isinstance(validated, dict)


@FUZZ
@given(config=st.sampled_from(SHIPPED_CONFIGS) | mutated_configs())
def test_a_valid_config_validates_to_itself_and_survives_json(config):
    try:
        validated = validate_simulation_config(config)
    except ConfigError:
        return
    assert validate_simulation_config(validated) == validated
    assert json.loads(json.dumps(validated)) == validated


@settings(FUZZ, max_examples=100)
@given(content=st.binary(max_size=300) | json_values.map(lambda value: json.dumps(value).encode()))
def test_loading_any_file_gives_a_config_or_a_config_error_naming_the_file(tmp_path_factory, content):
    path = tmp_path_factory.mktemp("config") / "simulation_config.json"
    path.write_bytes(content)
    try:
        load_simulation_config(path)
    except ConfigError as error:
        check_config_error(error, str(path))


override_text = st.text(alphabet=string.printable + "é\0", max_size=60)


@st.composite
def override_like(draw):
    """Override arguments built from the config's own keys, so that many reach deep into it."""
    config = draw(st.sampled_from(SHIPPED_CONFIGS))
    path, _ = draw(st.sampled_from(list(leaf_paths(config))[1:]))
    key = ".".join(str(segment) for segment in path)
    value = draw(st.sampled_from([json.dumps(draw(json_values)), draw(override_text)]))
    return config, f"{key}={value}"


@FUZZ
@given(case=override_like() | st.tuples(st.sampled_from(SHIPPED_CONFIGS), override_text))
def test_any_override_applies_or_raises_a_config_error(case):
    config, text = case
    config = copy.deepcopy(config)
    try:
        apply_overrides(config, [text], file="fuzzed.json")
    except ConfigError as error:
        check_config_error(error, "fuzzed.json")
        assert error.reason.startswith("override "), error
        return
    try:
        validate_simulation_config(config, file="fuzzed.json")
    except ConfigError as error:
        check_config_error(error, "fuzzed.json")


key_segments = st.text(alphabet=string.ascii_letters + string.digits + "_", min_size=1, max_size=10)


@FUZZ
@given(segments=st.lists(key_segments, min_size=1, max_size=4), value=json_values)
def test_an_override_written_from_a_key_and_a_value_parses_back_to_them(segments, value):
    assert parse_override(f"{'.'.join(segments)}={json.dumps(value)}") == (segments, value)


@FUZZ
@given(config=st.sampled_from(SHIPPED_CONFIGS), data=st.data())
def test_an_override_of_an_existing_key_sets_exactly_that_value(config, data):
    paths = [path for path, _ in leaf_paths(config) if path]
    path = data.draw(st.sampled_from(paths))
    value = data.draw(json_values)
    overridden = copy.deepcopy(config)
    apply_overrides(overridden, [f"{'.'.join(str(segment) for segment in path)}={json.dumps(value)}"])
    assert overridden == replaced(config, path, value)
