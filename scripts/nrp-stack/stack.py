"""Build, start, exercise and stop NRP's web frontend, proxy and haproxy against nrp-jupyter.

    .venv/bin/python scripts/nrp-stack/stack.py --frontend F --proxy P --user-scripts U --work W [options] COMMAND

COMMAND is one of build, up, walk, errors, accept, down, or all (build, up, walk, errors, accept, down,
then the pass table; the stack is stopped even when a step fails). README.md in this folder says more.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

import configs
import processes
import results
from configs import Broker, Mode
from layout import Layout, Ports
from services import all_services, proxy_env, ts_node


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["build", "up", "walk", "errors", "accept", "down", "all"])
    parser.add_argument("--frontend", type=Path, required=True, help="checkout of vvorobjov/nrp-frontend")
    parser.add_argument("--proxy", type=Path, required=True, help="checkout of vvorobjov/nrp-proxy")
    parser.add_argument("--user-scripts", type=Path, required=True,
                        help="checkout of vvorobjov/nrp-user-scripts with tests/acceptance")
    parser.add_argument("--work", type=Path, required=True, help="folder for configs, storage, logs, screenshots")
    parser.add_argument("--mode", choices=[m.value for m in Mode], default=Mode.NRP.value,
                        help="nrp: no workaround (default); workaround: issue 12's harness-only workarounds")
    parser.add_argument("--broker", choices=[b.value for b in Broker], default=Broker.MOSQUITTO.value,
                        help="mosquitto: NRP's broker set-up (default); embedded: the server's own broker")
    parser.add_argument("--name", help="names this run's screenshots, logs and results (default: mode and broker)")
    parser.add_argument("--server-arg", action="append", default=[],
                        help="extra argument for `jupyter server` (repeatable), e.g. the NRP mode's traits")
    return parser.parse_args(argv)


def make_layout(args: argparse.Namespace) -> Layout:
    work = args.work.resolve()
    token = configs.read_or_create_token(work / "run" / "jupyter_token", lambda: os.urandom(16).hex())
    return Layout(frontend_src=args.frontend.resolve(), proxy_src=args.proxy.resolve(),
                  user_scripts_src=args.user_scripts.resolve(), work=work, ports=Ports(), jupyter_token=token)


def build(layout: Layout, mode: Mode) -> None:
    """npm installs (once), the frontend's production build (again when its config changed), the FS user."""
    log = layout.run / "build.log"
    configs.write_all(layout, mode)
    for checkout in (layout.proxy_src, layout.frontend_src):
        if not (checkout / "node_modules").is_dir():
            # --legacy-peer-deps: the frontend's 2021 lock file predates npm's strict peer resolution.
            code = processes.run_once(["npm", "install", "--no-audit", "--no-fund", "--legacy-peer-deps"],
                                      checkout, {}, log, timeout_s=1800)
            if code:
                raise processes.ServiceFailed(f"npm install in {checkout} failed ({code}); see {log}")
    config = (layout.frontend_src / "src" / "config.json").read_text()
    stamp = layout.frontend_build / ".built-with-config.json"
    if not stamp.exists() or stamp.read_text() != config:
        # react-scripts 4 (webpack 4) hashes with md4, which OpenSSL 3 only offers as a legacy algorithm;
        # called with the system's node, not the frontend's `node` dev dependency whose binary npm does not
        # fetch without its install script.
        env = {"NODE_OPTIONS": "--openssl-legacy-provider", "GENERATE_SOURCEMAP": "false", "CI": "false"}
        code = processes.run_once(["node", "node_modules/react-scripts/bin/react-scripts.js", "build"],
                                  layout.frontend_src, env, log, timeout_s=1800)
        if code:
            raise processes.ServiceFailed(f"frontend build failed ({code}); see {log}")
        stamp.write_text(config)
    code = processes.run_once([*ts_node(layout), "utils/createFSUser.ts", "--user", layout.fs_user,
                               "--password", layout.fs_password], layout.proxy_src, proxy_env(layout), log, 300)
    # 1: the user exists with this password already.
    if code not in (0, 1):
        raise processes.ServiceFailed(f"creating the proxy's FS user failed ({code}); see {log}")


def up(layout: Layout, mode: Mode, broker: Broker, server_args: list[str], name: str) -> None:
    configs.write_all(layout, mode)
    (layout.run / "mode").write_text(name)
    for service in all_services(layout, mode, broker, server_args):
        processes.start(service, layout.run)
        print(f"started {service.name} (port {service.port}, log {processes.log_file(layout.run, service.name)})")


def down(layout: Layout) -> list[str]:
    """Stop every service, then end whatever still works in the server's folders (a kernel, NRPCoreSim or
    an engine that outlived its server); returns what had to be ended that way."""
    for name in ("haproxy", "frontend", "proxy", "jupyter", "mosquitto"):
        if processes.stop(layout.run, name):
            print(f"stopped {name}")
    leftovers = []
    for pid, cwd, cmdline in processes_inside((layout.simulations, layout.jupyter_root, layout.run)):
        leftovers.append(f"{pid} {cwd} {cmdline}")
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return leftovers


def processes_inside(folders: tuple[Path, ...]) -> list[tuple[int, str, str]]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if any(cwd == str(folder) or cwd.startswith(str(folder) + "/") for folder in folders):
            found.append((int(entry.name), cwd, cmdline[:200]))
    return found


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    layout = make_layout(args)
    mode = Mode(args.mode)
    layout.run.mkdir(parents=True, exist_ok=True)
    broker = Broker(args.broker)
    name = args.name or run_name(mode, broker)
    if args.command in ("walk", "errors", "accept") and (layout.run / "mode").exists():
        # Checks run against the stack as it was started.
        name = (layout.run / "mode").read_text().strip()
    table = results.PassTable(layout.run / f"results-{name}.json")
    if args.command == "build":
        build(layout, mode)
    elif args.command == "up":
        up(layout, mode, broker, args.server_arg, name)
    elif args.command == "down":
        for line in down(layout):
            print(f"ended a leftover process: {line}")
    elif args.command in ("walk", "errors", "accept"):
        run_checks(layout, args.command, table)
        table.print()
    else:
        table.reset()
        try:
            build(layout, mode)
            down(layout)
            up(layout, mode, broker, args.server_arg, name)
            for command in ("walk", "errors", "accept"):
                run_checks(layout, command, table)
        finally:
            leftovers = down(layout)
            table.add("teardown", "nothing left running", not leftovers, "; ".join(leftovers))
        table.print()
        return 0 if table.all_passed() else 1
    return 0


def run_name(mode: Mode, broker: Broker) -> str:
    """Names the run's screenshots, logs and results: the mode, and the broker when not NRP's own."""
    return mode.value if broker is Broker.MOSQUITTO else f"{mode.value}-{broker.value}-broker"


def run_checks(layout: Layout, command: str, table: results.PassTable) -> None:
    # Imported here: only these commands need playwright and pytest.
    if command == "walk":
        import walk
        walk.run(layout, table)
    elif command == "errors":
        import error_paths
        error_paths.run(layout, table)
    else:
        import acceptance
        acceptance.run(layout, table)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
