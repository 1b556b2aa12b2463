"""`%nrp set`, `%nrp step` and `%nrp reset`: steering, stepping and resetting from a notebook.

Their arguments do not fit the other subcommands' one optional target (a JSON value has spaces
and quotes of its own), so `%nrp` hands them the rest of its line as it is:

    %nrp set [ID] ENGINE DATAPACK JSON    steer: JSON replaces the datapack for the engine's next step
    %nrp step [N] [ID]                    N loop steps (1) of a paused simulation, which stays paused
    %nrp reset [ID]                       back to time 0, still paused

ID defaults to the simulation launched last from this kernel.
"""

from __future__ import annotations

import json

from IPython.core.error import UsageError

ACTIONS = ("set", "step", "reset")


def run(magics, action: str, rest: str) -> None:
    """Runs one of ACTIONS with the rest of the line; errors as `%nrp`'s others."""
    words = rest.split()
    if action == "set":
        target, engine, datapack, value = _set_arguments(rest)
        simulation = magics.simulation(target)
        answer = simulation.set_datapack(engine, datapack, value)
        if answer.get("status") == "applied":
            print(f"Simulation {simulation.id}: {engine}/{datapack} applied at t={answer['simulationTime']:g} s")
        else:
            print(f"Simulation {simulation.id}: {engine}/{datapack} queued for the next step "
                  f"(ticket {answer['ticket']})")
    elif action == "step":
        if len(words) > 2 or not all(word.isdigit() for word in words):
            raise UsageError(f"%nrp step takes a number of steps and a simulation ID, not {rest!r}")
        steps = int(words[0]) if words else 1
        simulation = magics.simulation(words[1] if len(words) > 1 else None)
        answer = simulation.step(steps)
        print(f"Simulation {simulation.id}: {answer['state']} at t={answer['simulationTime']:g} s "
              f"after {answer['steps']} step{'s' if answer['steps'] != 1 else ''}"
              if answer.get("steps") is not None else f"Simulation {simulation.id}: {answer['state']}")
    else:
        if len(words) > 1:
            raise UsageError(f"%nrp reset takes a simulation ID at most, not {rest!r}")
        simulation = magics.simulation(words[0] if words else None)
        answer = simulation.reset()
        print(f"Simulation {simulation.id}: {answer['state']} at t={answer['simulationTime']:g} s")


def _set_arguments(rest: str) -> tuple[str | None, str, str, object]:
    target = None
    words = rest.split(None, 3)
    # A leading number is the simulation's ID when an engine, a datapack and a value follow it.
    if len(words) == 4 and words[0].isdigit():
        target, rest = words[0], rest.split(None, 1)[1]
    words = rest.split(None, 2)
    if len(words) != 3:
        raise UsageError("%nrp set needs an engine, a datapack and a JSON value: "
                         "%nrp set [ID] ENGINE DATAPACK JSON")
    engine, datapack, text = words
    try:
        value = json.loads(text)
    except ValueError as error:
        raise UsageError(f"%nrp set: the value is not JSON ({error}): {text}") from None
    return target, engine, datapack, value
