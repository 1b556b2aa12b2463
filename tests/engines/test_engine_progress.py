"""NRPCoreSim's log lines about each engine's launch and initialize, read back as the server does."""

import logging

import pytest

from engines.engine_progress import INITIALIZE, LAUNCH, tracked, unfinished


def test_a_step_that_ends_is_not_unfinished(caplog):
    caplog.set_level(logging.INFO)
    assert tracked("python_1", LAUNCH, lambda: 7)() == 7
    tracked("python_1", INITIALIZE, lambda: None)()
    assert unfinished(caplog.text) == []


def test_a_step_that_raised_or_never_returned_is_unfinished(caplog):
    caplog.set_level(logging.INFO)
    tracked("python_1", LAUNCH, lambda: None)()
    with pytest.raises(ZeroDivisionError):
        tracked("python_2", INITIALIZE, lambda: 1 / 0)()
    text = caplog.text + "engine 'nest': initialize begun\n"
    assert unfinished(text) == [("python_2", "initialize"), ("nest", "initialize")]
