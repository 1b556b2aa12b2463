"""nrp-core's own test of NRPCoreSim's server mode (`nrp_simulation/tests/server.py`), run unchanged
against this project's NRPCoreSim with the real nrp-client.

    from conformance.server_suite import run_server_suite
    run = run_server_suite("/work/shared/nrp-core")      # or any nrp-core checkout
    run.results   # [TestResult(name="test_basic", passed=True, reason=""), ...], in the suite's order
    run.passed    # how many passed, of len(run.results)

Contract (what callers may rely on):

- Input: a checkout path holding `nrp_simulation/tests/server.py` and `examples/status_function_test/`.
  Neither is modified: both are copied into a fresh temporary folder (under `workdir`, or the system's
  temporary directory), and the suite runs there, as nrp-core's CI runs it (`py.test server.py
  <example folder>`: the module's import enters the example folder, whose relative config names and
  fixed address, `localhost:50051`, the tests use).
- How: `<repo>/.venv-nrp-client/bin/python` runs this very file as a driver. The driver imports
  server.py from the copy (with `sys.argv` set the way the module's `os.chdir(sys.argv[2])` expects),
  runs its unittest cases in their order, and prints one machine-readable line per test. nrp-client
  launches `NRPCoreSim` by name from PATH: `<repo>/.venv/bin` comes first on the driver's PATH, so
  it is this project's NRPCoreSim (and engines) that run.
- Output: a `SuiteRun`. `results` holds one `TestResult(name, passed, reason)` per test method of
  server.py (`name` is the method name, e.g. `test_done_flag`); `reason` is "" for a pass, else the
  failing line and exception (`server.py line 125: AssertionError: False is not true`), with the full
  traceback in `details`. A test the run did not reach (the suite's time ran out, the driver died)
  is a failure whose reason says so. `leftovers` lists processes that were still alive after the
  suite ended (they are killed; a non-empty list is itself a defect worth reporting); `output` is
  the tail of the suite's console output.
- Errors: `SuiteUnavailable` when the suite cannot run at all (files missing from the checkout, no
  .venv-nrp-client, the suite's port held by a process that is not ours); nothing is started then.
  `SuiteCancelled` when `should_stop()` turned true during the run.
- Hygiene, whatever happens (a pass, a failure, a timeout, an exception, a cancellation): every
  process the run started (the driver, NRPCoreSim, engines, anything they orphaned; they all carry a
  marker variable) has ended, the suite's ports are free again, and the temporary folder is removed
  before the function returns or raises.
- Time: about 40 s on a quiet machine; `timeout_s` (default 600) bounds the whole run.
- Concurrency: the suite uses fixed ports (`resources` of its Check names them). Runs on one machine
  take turns: a run waits (within `timeout_s`, and `should_stop`) for another one, in any process,
  to release those ports, through a lock file per port in /tmp.

`checks(checkout)` wraps the run as one conformance Check for `scripts/nrp-core-conformance` (see
suites.py): PASS when every test passed and nothing was left running, FAIL listing the failing
tests otherwise.

Nothing of nrp-core is copied into this project: the checkout's files run from a temporary copy.
This module imports only the standard library at its top, so the real client's interpreter can run
it as the driver.
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

SERVER_SUITE = pathlib.PurePosixPath("nrp_simulation/tests/server.py")
EXAMPLE = pathlib.PurePosixPath("examples/status_function_test")
REPO = pathlib.Path(__file__).resolve().parents[2]
MARK_VARIABLE = "NRP_SERVER_SUITE_MARK"
# Where runs of the suite on one machine take turns per port (a fixed place, whatever TMPDIR says).
LOCK_DIR = "/tmp"
DEFAULT_TIMEOUT_S = 600.0
# Printed by the driver at the start of a line; the client may print anything around it.
_TAG = "@@nrp-server-suite@@ "
# How long processes get to end by themselves after the suite (NRPCoreSim exits once the client
# that launched it is gone), and ports to be released, before they are killed or reported.
_SETTLE_S = 10.0
_TERMINATE_GRACE_S = 3.0
_OUTPUT_TAIL_LINES = 60


@dataclass(frozen=True)
class TestResult:
    """One test of server.py: its method name, whether it passed, and if not why."""

    __test__ = False  # not a pytest test class, despite its name

    name: str
    passed: bool
    reason: str = ""
    details: str = ""


@dataclass(frozen=True)
class SuiteRun:
    results: list[TestResult]
    leftovers: list[str] = field(default_factory=list)
    output: str = ""
    seconds: float = 0.0

    @property
    def passed(self) -> int:
        return sum(result.passed for result in self.results)

    @property
    def failed(self) -> list[TestResult]:
        return [result for result in self.results if not result.passed]


class SuiteUnavailable(Exception):
    """The suite cannot run here; the message says why. Nothing was started."""


class SuiteCancelled(Exception):
    """`should_stop()` turned true; the run's processes were ended and its folder removed."""


def suite_ports(checkout: pathlib.Path | str) -> list[int]:
    """The fixed ports server.py's tests use (its `"localhost:<port>"` literals)."""
    text = (pathlib.Path(checkout) / SERVER_SUITE).read_text(encoding="utf-8")
    return sorted({int(port) for port in re.findall(r"""["']localhost:(\d+)["']""", text)})


def run_server_suite(checkout: pathlib.Path | str, *, repo: pathlib.Path | str = REPO,
                     workdir: pathlib.Path | str | None = None, env: dict[str, str] | None = None,
                     timeout_s: float = DEFAULT_TIMEOUT_S,
                     should_stop: Callable[[], bool] = lambda: False) -> SuiteRun:
    """Runs server.py of `checkout` unchanged against `repo`'s NRPCoreSim; see the module docstring.

    `env` is the environment to start from (default: this process's); `workdir` the folder in which
    the temporary folder is made; `should_stop` is polled while the suite runs.
    """
    checkout, repo = pathlib.Path(checkout).resolve(), pathlib.Path(repo).resolve()
    suite, example = checkout / SERVER_SUITE, checkout / EXAMPLE
    client_python = repo / ".venv-nrp-client" / "bin" / "python"
    our_bin = repo / ".venv" / "bin"
    for needed, what in ((suite, "nrp-core's server suite"), (example / "simulation_config.json", "its example"),
                         (client_python, "the real nrp-client's venv (scripts/setup-real-client.sh)"),
                         (our_bin / "NRPCoreSim", "this project's NRPCoreSim (scripts/bootstrap)")):
        if not needed.exists():
            raise SuiteUnavailable(f"{what} is missing: {needed}")
    ports = suite_ports(checkout)
    started = time.monotonic()
    with _ports_lock(ports, timeout_s, should_stop):
        busy = [port for port in ports if not _wait_port_free(port, 0.0)]
        if busy:
            raise SuiteUnavailable(f"port(s) {', '.join(map(str, busy))} that server.py uses are taken by "
                                   "another process; it would talk to that process instead of ours")
        return _run(example, suite, client_python, our_bin, ports, workdir, env, timeout_s, should_stop, started)


def _run(example, suite, client_python, our_bin, ports, workdir, env, timeout_s, should_stop,
         started) -> SuiteRun:
    marker = uuid.uuid4().hex
    folder = pathlib.Path(tempfile.mkdtemp(prefix="nrp-server-suite-", dir=workdir))
    try:
        experiment = folder / "status_function_test"
        shutil.copytree(example, experiment, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        for path in [experiment, *experiment.rglob("*")]:
            path.chmod(path.stat().st_mode | 0o200)  # a read-only checkout gives read-only copies
        shutil.copy2(suite, experiment / "server.py")
        (experiment / "server.py").chmod(0o644)
        process_env = _environment(env, our_bin, folder, marker)
        output_path = folder / "suite-output.txt"
        with open(output_path, "wb") as output:
            driver = subprocess.Popen([str(client_python), str(pathlib.Path(__file__).resolve()), str(experiment)],
                                      cwd=experiment, env=process_env, stdin=subprocess.DEVNULL, stdout=output,
                                      stderr=subprocess.STDOUT, start_new_session=True)
        outcome = _wait(driver, timeout_s - (time.monotonic() - started), should_stop)
        text = output_path.read_text(errors="replace")
        leftovers = _end_marked(marker, driver)
        for port in ports:
            _wait_port_free(port, _SETTLE_S)
        if outcome == "cancelled":
            raise SuiteCancelled("the server suite was stopped before its end")
        results = _results(text, outcome, timeout_s, driver.returncode)
        tail = "\n".join(text.rstrip().splitlines()[-_OUTPUT_TAIL_LINES:])
        return SuiteRun(results, leftovers, tail, time.monotonic() - started)
    finally:
        _end_marked(marker, None, settle_s=0.0)
        shutil.rmtree(folder, ignore_errors=True)


def checks(checkout: pathlib.Path) -> list:
    """The suite as one Check of the conformance runner (suites.py looks this function up)."""
    from .checks import Check, Outcome
    from .sandbox import Cancelled

    checkout = pathlib.Path(checkout)
    name = f"server-suite {SERVER_SUITE}"
    if not (checkout / SERVER_SUITE).exists():
        return [Check(name=name, skip=f"{checkout / SERVER_SUITE} does not exist")]

    def run(sandbox) -> Outcome:
        try:
            result = run_server_suite(checkout, repo=sandbox.repo, workdir=sandbox.folder, env=sandbox.env,
                                      timeout_s=DEFAULT_TIMEOUT_S - 30,
                                      should_stop=lambda: sandbox.cancelled.is_set() or sandbox.expired.is_set())
        except SuiteUnavailable as error:
            return Outcome.skipped(str(error))
        except SuiteCancelled:
            raise Cancelled() from None
        summary = f"{result.passed} of {len(result.results)} tests passed"
        problems = [f"{test.name}: {test.reason}" for test in result.failed]
        if result.leftovers:
            problems.append("processes left running (killed now): " + "; ".join(result.leftovers))
        if not problems and result.results:
            return Outcome.passed(summary)
        return Outcome.failed(summary + "\n" + "\n".join(problems or ["no test ran:\n" + result.output]))

    ports = suite_ports(checkout)
    return [Check(name=name, run=run, timeout_s=DEFAULT_TIMEOUT_S,
                  resources=frozenset(f"address localhost:{port}" for port in ports))]


# -- running ----------------------------------------------------------------------------------------

@contextlib.contextmanager
def _ports_lock(ports: list[int], timeout_s: float, should_stop: Callable[[], bool]):
    """Holds a machine-wide lock per port: between two tests of a run the port is free for a moment,
    and a second run (another process, another runner) must not take it then."""
    import fcntl

    held = []
    deadline = time.monotonic() + timeout_s
    try:
        for port in ports:
            path = pathlib.Path(LOCK_DIR) / f"nrp-server-suite-{port}.lock"
            while True:
                lock = open(path, "a")  # noqa: SIM115 (held until the run ends)
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    lock.close()
                    if should_stop():
                        raise SuiteCancelled("stopped while waiting for another run of the suite") from None
                    if time.monotonic() > deadline:
                        raise SuiteUnavailable(f"another run of the server suite holds port {port}") from None
                    time.sleep(0.2)
                    continue
                # The holder before us removes the file as it leaves: a lock on that file is no lock.
                if path.exists() and os.stat(path).st_ino == os.fstat(lock.fileno()).st_ino:
                    held.append((path, lock))
                    break
                lock.close()
        yield
    finally:
        for path, lock in held:
            path.unlink(missing_ok=True)  # removed while still held, so no one can lock it meanwhile
            lock.close()


def _environment(base: dict[str, str] | None, our_bin: pathlib.Path, folder: pathlib.Path,
                 marker: str) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    env.pop("VIRTUAL_ENV", None)
    env.pop("PYTHONPATH", None)  # the client's venv must see its own nrp_protobuf, not ours
    tmp = folder / "tmp"
    tmp.mkdir(exist_ok=True)
    env.update({
        MARK_VARIABLE: marker,
        # nrp-client execs `NRPCoreSim` by name: ours, and our engine executables, come first.
        "PATH": f"{our_bin}{os.pathsep}{env.get('PATH', '')}",
        "TMPDIR": str(tmp),
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    })
    return env


def _wait(driver: subprocess.Popen, timeout_s: float, should_stop: Callable[[], bool]) -> str:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            driver.wait(timeout=0.2)
            return "finished"
        except subprocess.TimeoutExpired:
            pass
        if should_stop():
            _end_group(driver)
            return "cancelled"
        if time.monotonic() > deadline:
            _end_group(driver)
            return "timed out"


def _end_group(process: subprocess.Popen) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        try:
            process.wait(timeout=_TERMINATE_GRACE_S)
            return
        except subprocess.TimeoutExpired:
            continue


def _end_marked(marker: str, driver: subprocess.Popen | None, settle_s: float = _SETTLE_S) -> list[str]:
    """Waits up to `settle_s` for the run's processes to end by themselves, then kills the rest;
    returns descriptions of those that had to be killed."""
    import psutil  # in both venvs; imported here so that the driver does not need it at import

    if driver is not None and driver.poll() is None:
        _end_group(driver)
    deadline = time.monotonic() + settle_s
    while (alive := _marked(psutil, marker)) and time.monotonic() < deadline:
        psutil.wait_procs(alive, timeout=0.2)
    described = []
    for process in alive:
        try:
            described.append(f"{process.pid} {' '.join(process.cmdline()[:6])}")
            process.kill()
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    psutil.wait_procs(alive, timeout=_TERMINATE_GRACE_S)
    return described


def _marked(psutil, marker: str) -> list:
    found = []
    for process in psutil.process_iter():
        if process.pid == os.getpid():
            continue
        try:
            if process.status() != psutil.STATUS_ZOMBIE and process.environ().get(MARK_VARIABLE) == marker:
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def _wait_port_free(port: int, timeout_s: float) -> bool:
    import socket

    deadline = time.monotonic() + timeout_s
    while True:
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT leftovers are fine
            try:
                probe.bind(("127.0.0.1", port))
                return True
            except OSError:
                pass
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)


def _results(text: str, outcome: str, timeout_s: float, returncode: int | None) -> list[TestResult]:
    names: list[str] = []
    finished: dict[str, TestResult] = {}
    current = None
    for line in text.splitlines():
        if not line.startswith(_TAG):
            continue
        kind, _, payload = line[len(_TAG):].partition(" ")
        data = json.loads(payload)
        if kind == "TESTS":
            names = data
        elif kind == "START":
            current = data
        elif kind == "RESULT":
            finished[data["name"]] = TestResult(data["name"], data["passed"], data["reason"], data["details"])
    if outcome == "timed out":
        missing = f"not finished: the suite was stopped after {timeout_s:.0f} s"
    else:
        missing = f"not run: the suite's driver exited with status {returncode} first"
    results = []
    for name in names:
        if name in finished:
            results.append(finished[name])
        else:
            reason = missing + (" (while this test ran)" if name == current else "")
            results.append(TestResult(name, False, reason))
    return results


# -- the driver (runs in the real client's interpreter) ---------------------------------------------

def _drive(experiment: str) -> None:
    import importlib
    import traceback
    import unittest
    import warnings

    # Only the experiment folder on the path: none of this folder's modules may shadow the suite's.
    sys.path[0] = experiment
    os.chdir(experiment)
    # server.py enters sys.argv[2] at import, as `py.test server.py <example folder>` leaves argv.
    sys.argv = [os.path.join(experiment, "server.py"), "-", experiment]
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated")

    def emit(kind: str, payload) -> None:
        sys.stdout.write(f"\n{_TAG}{kind} {json.dumps(payload)}\n")
        sys.stdout.flush()

    module = importlib.import_module("server")
    suite = unittest.defaultTestLoader.loadTestsFromModule(module)

    def flatten(tests):
        for test in tests:
            if isinstance(test, unittest.TestSuite):
                yield from flatten(test)
            else:
                yield test

    emit("TESTS", [test.id().rsplit(".", 1)[-1] for test in flatten(suite)])

    class Streaming(unittest.TestResult):
        def startTest(self, test):  # noqa: N802 (unittest's names)
            super().startTest(test)
            emit("START", test.id().rsplit(".", 1)[-1])

        def _report(self, test, passed: bool, reason: str = "", details: str = "") -> None:
            emit("RESULT", {"name": test.id().rsplit(".", 1)[-1], "passed": passed, "reason": reason,
                            "details": details})

        def addSuccess(self, test):  # noqa: N802
            super().addSuccess(test)
            self._report(test, True)

        def _add_problem(self, test, err):
            kind, value, tb = err
            frames = [frame for frame in traceback.extract_tb(tb) if frame.filename.endswith("server.py")]
            where = f"server.py line {frames[-1].lineno}: " if frames else ""
            last = traceback.format_exception_only(kind, value)[-1].strip()
            self._report(test, False, where + last, "".join(traceback.format_exception(kind, value, tb)))

        def addFailure(self, test, err):  # noqa: N802
            super().addFailure(test, err)
            self._add_problem(test, err)

        def addError(self, test, err):  # noqa: N802
            super().addError(test, err)
            self._add_problem(test, err)

        def addSkip(self, test, reason):  # noqa: N802
            super().addSkip(test, reason)
            self._report(test, False, f"skipped: {reason}")

        def addExpectedFailure(self, test, err):  # noqa: N802
            super().addExpectedFailure(test, err)
            self._report(test, True, "expected failure")

        def addUnexpectedSuccess(self, test):  # noqa: N802
            super().addUnexpectedSuccess(test)
            self._report(test, False, "unexpected success")

    suite.run(Streaming())


if __name__ == "__main__":
    _drive(sys.argv[1])
