"""Runs the conformance checks, a few at a time, and reports each as soon as it ends.

    scripts/nrp-core-conformance PATH [--jobs N] [-k SUBSTRING ...]

One line per check, `PASS|FAIL|SKIP <check> (<seconds>s)[: reason]` (a failure's details follow,
indented), then `N passed, N failed, N skipped`. Exit status 0 when nothing failed, 1 otherwise,
2 for a bad command line, 130 when interrupted. Whatever happens, every process a check started is
ended and the run's temporary folder removed before it exits.
"""

from __future__ import annotations

import argparse
import itertools
import os
import pathlib
import re
import shutil
import signal
import sys
import tempfile
import threading
import time

from .checks import Check, Outcome, Result, Status
from .engine_unit_tests import unit_test_checks
from .examples import find_configs
from .jupyter_runs import jupyter_run_checks
from .sandbox import Cancelled, Sandbox
from .simulations import client_check, standalone_check
from .suites import real_engine_checks, server_suite_checks


def build_checks(checkout: pathlib.Path) -> list[Check]:
    """Every check for `checkout`, in start order: nrp-core's server suite first (the longest, so
    that the rest runs beside it), examples (standalone, then the client, per config), templates
    through `jupyter nrp run`, nrp-core's engine servers under our orchestrator, and its
    engine-server unit tests."""
    configs = find_configs(checkout)
    checks: list[Check] = list(server_suite_checks(checkout))
    for config in configs:
        if config.out_of_scope:
            checks.append(Check(name=f"example {config.label}", skip=f"out of scope: {config.out_of_scope}"))
            continue
        checks.append(standalone_check(config))
        checks.append(client_check(config))
    checks += jupyter_run_checks(configs)
    checks += real_engine_checks(checkout)
    checks += unit_test_checks(checkout)
    return checks


class Run:
    """Runs checks on `jobs` threads; checks sharing a resource never overlap."""

    def __init__(self, checks: list[Check], repo: pathlib.Path, jobs: int = 2, out=None):
        self.checks = checks
        self.repo = repo
        self.jobs = max(1, jobs)
        self.out = out or sys.stdout
        self.results: list[Result] = []
        self.cancelled = threading.Event()
        self._pending = [check for check in checks if check.skip is None]
        self._held: set[str] = set()
        self._active: set[Sandbox] = set()
        self._state = threading.Condition()
        self._print_lock = threading.Lock()
        self._root: pathlib.Path | None = None
        self._numbers = itertools.count()  # next() on it is atomic under the GIL

    def execute(self) -> list[Result]:
        """Runs everything; KeyboardInterrupt (Ctrl-C, or SIGTERM turned into it) ends all checks'
        processes, removes the temporary folder and propagates."""
        self._root = pathlib.Path(tempfile.mkdtemp(prefix="nrp-conformance-"))
        workers = [threading.Thread(target=self._work, name=f"conformance-{n}", daemon=True)
                   for n in range(self.jobs)]
        try:
            for check in self.checks:
                if check.skip is not None:
                    self._report(Result(check.name, Outcome.skipped(check.skip), 0.0))
            for worker in workers:
                worker.start()
            for worker in workers:
                while worker.is_alive():
                    worker.join(timeout=0.2)  # short joins, so that Ctrl-C reaches this thread
        except KeyboardInterrupt:
            previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not stop the cleanup
            try:
                self._cancel(workers)
            finally:
                signal.signal(signal.SIGINT, previous)
            raise
        finally:
            shutil.rmtree(self._root, ignore_errors=True)
        return self.results

    def _cancel(self, workers: list[threading.Thread]) -> None:
        self.cancelled.set()
        with self._state:
            self._state.notify_all()
            active = list(self._active)
        for sandbox in active:
            sandbox.kill_all()
        for worker in workers:
            worker.join(timeout=15)

    def _work(self) -> None:
        while True:
            check = self._next()
            if check is None:
                return
            try:
                self._report(self._run_one(check))
            finally:
                with self._state:
                    self._held -= check.resources
                    self._state.notify_all()

    def _next(self) -> Check | None:
        with self._state:
            while True:
                if self.cancelled.is_set() or not self._pending:
                    return None
                for index, check in enumerate(self._pending):
                    if not check.resources & self._held:
                        self._held |= check.resources
                        return self._pending.pop(index)
                self._state.wait(timeout=0.5)

    def _run_one(self, check: Check) -> Result:
        started = time.monotonic()
        # Short: programs put sockets under the sandbox's TMPDIR, and a socket path has ~107 bytes.
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", check.name)[:24]
        sandbox = Sandbox(self._root, f"{next(self._numbers):03d}-{slug}", self.repo, self.cancelled)
        with self._state:
            self._active.add(sandbox)
        watchdog = threading.Timer(check.timeout_s, sandbox.expired.set)
        watchdog.daemon = True
        watchdog.start()
        try:
            outcome = check.run(sandbox)
        except Cancelled:
            outcome = (Outcome.failed(f"not finished within {check.timeout_s:.0f}s (processes ended)")
                       if sandbox.expired.is_set() else Outcome.failed("interrupted"))
        except Exception as error:  # a check's own bug is its failure, not the run's end
            outcome = Outcome.failed(f"{type(error).__name__}: {error}")
        finally:
            if self.cancelled.is_set():
                # Its processes were killed under it: whatever it concluded says nothing.
                outcome = Outcome.failed("interrupted")
            watchdog.cancel()
            sandbox.kill_all()
            with self._state:
                self._active.discard(sandbox)
            shutil.rmtree(sandbox.folder, ignore_errors=True)
        return Result(check.name, outcome, time.monotonic() - started)

    def _report(self, result: Result) -> None:
        with self._print_lock:
            if self.cancelled.is_set() and result.outcome.reason == "interrupted":
                return
            self.results.append(result)
            first, _, details = result.line().partition("\n")
            print(first, file=self.out)
            for line in details.splitlines():
                print(f"    {line}", file=self.out)
            self.out.flush()


def summary(results: list[Result]) -> str:
    counts = {status: sum(1 for r in results if r.outcome.status == status) for status in Status}
    return f"{counts[Status.PASS]} passed, {counts[Status.FAIL]} failed, {counts[Status.SKIP]} skipped"


def _terminate(signum, frame):
    raise KeyboardInterrupt()


def main(argv: list[str], repo: pathlib.Path) -> int:
    parser = argparse.ArgumentParser(prog="nrp-core-conformance",
                                     description="Run an nrp-core checkout's examples and tests against nrp-jupyter.")
    parser.add_argument("checkout", type=pathlib.Path, help="an nrp-core checkout (or its CI part)")
    parser.add_argument("-j", "--jobs", type=int, default=min(2, os.cpu_count() or 1),
                        help="checks at a time (default: 2, or 1 on one core)")
    parser.add_argument("-k", "--only", action="append", default=[], metavar="SUBSTRING",
                        help="run only checks whose name contains SUBSTRING (repeatable)")
    args = parser.parse_args(argv)
    if not (args.checkout / "examples").is_dir():
        parser.error(f"{args.checkout} has no examples/ folder: not an nrp-core checkout")
    checks = build_checks(args.checkout.resolve())
    if args.only:
        checks = [check for check in checks if any(word in check.name for word in args.only)]
    started = time.monotonic()
    signal.signal(signal.SIGTERM, _terminate)
    # Also when started with SIGINT ignored (in the background of a script): Ctrl-C must clean up.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    run = Run(checks, repo, jobs=args.jobs)
    try:
        results = run.execute()
    except KeyboardInterrupt:
        print(f"interrupted: {summary(run.results)} before the interruption; every process ended, "
              "temporary files removed", flush=True)
        return 130
    print(f"{summary(results)} in {time.monotonic() - started:.0f}s", flush=True)
    return 1 if any(r.outcome.status == Status.FAIL for r in results) else 0
