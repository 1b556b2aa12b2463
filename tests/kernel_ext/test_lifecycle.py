"""The kernel-side lifecycle table."""

import pytest

from kernel_ext.errors import IllegalCommand
from kernel_ext.lifecycle import Command, ServerState, check_command

pytestmark = pytest.mark.timeout(10)

S, C = ServerState, Command

ALLOWED = [
    (C.INITIALIZE, S.CREATED, S.CREATED),
    (C.START, S.PAUSED, S.STARTED),
    (C.START, S.STARTED, S.STARTED),
    (C.PAUSE, S.STARTED, S.PAUSED),
    (C.PAUSE, S.PAUSED, S.PAUSED),
    (C.RESUME, S.PAUSED, S.STARTED),
    (C.RESUME, S.STARTED, S.STARTED),
    (C.STOP, S.CREATED, S.STOPPED),
    (C.STOP, S.PAUSED, S.STOPPED),
    (C.STOP, S.STARTED, S.STOPPED),
    (C.STOP, S.COMPLETED, S.STOPPED),
    (C.STOP, S.STOPPED, S.STOPPED),
    (C.STOP, S.FAILED, S.FAILED),
    # Beyond NRP's lifecycle: none of these changes the state.
    (C.STEER, S.PAUSED, S.PAUSED),
    (C.STEER, S.STARTED, S.STARTED),
    (C.READ, S.PAUSED, S.PAUSED),
    (C.READ, S.STARTED, S.STARTED),
    (C.READ, S.COMPLETED, S.COMPLETED),
    (C.STEP, S.PAUSED, S.PAUSED),
    (C.RESET, S.PAUSED, S.PAUSED),
]


@pytest.mark.parametrize(("command", "state", "target"), ALLOWED)
def test_allowed_commands_and_where_they_lead(command, state, target):
    assert check_command(command, state) is target


@pytest.mark.parametrize(("command", "state"), [
    (command, state) for command in Command for state in ServerState
    if (command, state) not in {(c, s) for c, s, _ in ALLOWED}
])
def test_every_other_command_is_illegal_and_names_the_state(command, state):
    with pytest.raises(IllegalCommand) as caught:
        check_command(command, state)
    assert f"{command.value}()" in str(caught.value)
    assert f"'{state.value}'" in str(caught.value)
    assert (caught.value.command, caught.value.state) == (command.value, state.value)
