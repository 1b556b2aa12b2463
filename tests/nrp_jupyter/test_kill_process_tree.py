"""kill_process_tree, the last resort of a stop that NRPCoreSim did not finish in time: it kills a
process with its descendants, and a process that ends meanwhile (NRPCoreSim finishing its
shutdown late) is not an error: the stop must still answer 200."""

import subprocess
import sys

import psutil
import pytest

from nrp_jupyter.server.kernel_runner import kill_process_tree
from tests.waiting import eventually

pytestmark = pytest.mark.timeout(30)

# A parent with one child, both waiting: the shape of NRPCoreSim with an engine.
TREE = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); time.sleep(60)"


def start_tree() -> tuple[subprocess.Popen, psutil.Process]:
    root = subprocess.Popen([sys.executable, "-c", TREE])
    children = eventually(psutil.Process(root.pid).children, 10, "the tree's child to start")
    return root, children[0]


def test_a_process_and_its_descendants_are_killed():
    root, child = start_tree()

    kill_process_tree(root.pid)

    assert root.wait(timeout=10) == -9
    child.wait(timeout=10)
    assert not child.is_running()


def test_a_process_that_already_ended_is_not_an_error():
    root = subprocess.Popen([sys.executable, "-c", "pass"])
    root.wait(timeout=10)

    kill_process_tree(root.pid)  # its pid is gone: nothing to do, nothing raised


def test_a_root_that_ends_while_its_tree_is_read_is_not_an_error(monkeypatch):
    """The race that made a late NRPCoreSim's stop answer 500 'process PID not found': the root is
    found, then ends and is reaped before its children are listed."""
    root, child = start_tree()
    children = psutil.Process.children

    def root_ends_first(process, *args, **kwargs):
        if process.pid == root.pid:
            root.kill()
            root.wait(timeout=10)
        return children(process, *args, **kwargs)

    monkeypatch.setattr(psutil.Process, "children", root_ends_first)

    kill_process_tree(root.pid)

    assert root.returncode == -9
    child.kill()  # orphaned by the race: the process sweep's, in a real stop
