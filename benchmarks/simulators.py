"""What orchestration costs each py_sim simulator, from one run.

For MuJoCo, PyBullet and Gymnasium, measures in this run:
  - bare: the simulator's own step function called in a loop in this process, with the engine's
    timestep (MuJoCo: the mj_step calls that make one engine step; Bullet: one stepSimulation of
    that timestep; Gymnasium: one env.step);
  - manager: the same steps through SimulatorManager.run_step in this process (the py_sim wrapper);
  - NRPCoreSim: steps/s of a one-engine experiment (a py_sim engine whose script steps the simulator
    and publishes one small datapack) driven through the NrpCore client with run_loop(N), after a
    warm-up; and of the shipped experiments (cartpole, bullet_pendulum: TF + status function);
  - in-process: the same two with the py_sim engine run inside NRPCoreSim ("LaunchType": "InProcess");
and prints each rate with its ratio to the bare one (the orchestration cost per step).

    .venv/bin/python benchmarks/simulators.py [--steps 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import statistics
import sys
import tempfile
import time

from _core import steps_per_s

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
EXPERIMENTS = REPO / "experiments"

MUJOCO_TIMESTEP_S = 0.01  # 5 MuJoCo steps of 2 ms per engine step
MJCF = """\
<mujoco model="bench">
  <option timestep="0.002"/>
  <worldbody>
    <body name="pole" pos="0 0 1">
      <joint name="hinge" type="hinge" axis="0 1 0"/>
      <geom type="capsule" size="0.02" fromto="0 0 0 0 0 -0.5"/>
      <site name="tip" pos="0 0 -0.5"/>
    </body>
    <body name="ball" pos="0 0 3"><freejoint/><geom type="sphere" size="0.1"/></body>
  </worldbody>
  <actuator><motor name="torque" joint="hinge"/></actuator>
</mujoco>
"""

# One engine per simulator: steps it with a fixed action and publishes one small datapack.
ENGINE_SCRIPT = """\
from nrp_core.engines.py_sim import PySimEngineScript

ACTIONS = {"Mujoco": [0.1], "Bullet": None, "OpenAI": 1}


class Script(PySimEngineScript):
    def initialize(self):
        self._action = ACTIONS[self._config["Simulator"]]
        self._registerDataPack("time")
        self._setDataPack("time", {"t": 0.0})

    def runLoop(self, timestep_ns):
        done = self.sim_manager.run_step(self._action, timestep_ns)
        if done:
            self.sim_manager.reset()
        self._setDataPack("time", {"t": self.sim_manager.get_sim_time()})

    def shutdown(self):
        self.sim_manager.shutdown()
"""

# name -> (Simulator, WorldFileName, EngineTimestep, extra configs)
ENGINES = {
    "MuJoCo": ("Mujoco", "bench.xml", MUJOCO_TIMESTEP_S, {}),
    "Bullet": ("Bullet", "pendulum.urdf", 0.01, {"UseFixedBase": True}),
    "Gymnasium": ("OpenAI", "CartPole-v1", 0.02, {"Seed": 0}),
}
SHIPPED = {"Gymnasium": "cartpole", "Bullet": "bullet_pendulum"}
# NRPCoreSim's arguments that run the experiment's first engine (the py_sim one) in its process.
IN_PROCESS_ARGS = '-o EngineConfigs.0.EngineLaunchCommand={"LaunchType":"InProcess"}'


def bare_rate(name: str, steps: int) -> float:
    if name == "MuJoCo":
        from engines.servers.simulators.mujoco_simulator import import_mujoco

        mujoco = import_mujoco()
        model = mujoco.MjModel.from_xml_string(MJCF)
        data = mujoco.MjData(model)
        data.ctrl[:] = 0.1
        per_step = round(MUJOCO_TIMESTEP_S / model.opt.timestep)

        def step():
            mujoco.mj_step(model, data, nstep=per_step)
    elif name == "Bullet":
        import pybullet
        import pybullet_data

        client = pybullet.connect(pybullet.DIRECT)
        pybullet.setTimeStep(0.01, physicsClientId=client)
        pybullet.setGravity(0, 0, -9.8, physicsClientId=client)
        pybullet.loadURDF(os.path.join(pybullet_data.getDataPath(), "plane.urdf"), physicsClientId=client)
        pybullet.loadURDF(str(EXPERIMENTS / "bullet_pendulum" / "pendulum.urdf"), useFixedBase=True,
                          physicsClientId=client)

        def step():
            pybullet.stepSimulation(physicsClientId=client)
    else:
        import gymnasium

        env = gymnasium.make("CartPole-v1")
        env.reset(seed=0)

        def step():
            _, _, terminated, truncated, _ = env.step(1)
            if terminated or truncated:
                env.reset()
    for _ in range(100):
        step()
    started = time.perf_counter()
    for _ in range(steps):
        step()
    elapsed = time.perf_counter() - started
    if name == "Bullet":
        pybullet.disconnect(physicsClientId=client)
    return steps / elapsed


def manager_rate(name: str, steps: int, experiment: pathlib.Path) -> float:
    from engines.servers.simulators.manager import SimulatorManager

    simulator, world, timestep, extra = ENGINES[name]
    manager = SimulatorManager({"Simulator": simulator, "WorldFileName": world, "EngineTimestep": timestep,
                                "EngineExtraConfigs": extra}, base_dir=experiment)
    action = {"Mujoco": [0.1], "Bullet": None, "OpenAI": 1}[simulator]
    timestep_ns = round(timestep * 1e9)
    try:
        for _ in range(100):
            manager.run_step(action, timestep_ns)
        started = time.perf_counter()
        for _ in range(steps):
            if manager.run_step(action, timestep_ns):
                manager.reset()
        return steps / (time.perf_counter() - started)
    finally:
        manager.shutdown()


def write_experiment(name: str, directory: pathlib.Path) -> str:
    simulator, world, timestep, extra = ENGINES[name]
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "engine.py").write_text(ENGINE_SCRIPT)
    (directory / "bench.xml").write_text(MJCF)
    shutil.copy(EXPERIMENTS / "bullet_pendulum" / "pendulum.urdf", directory)
    config = {"SimulationName": f"bench_{name}", "SimulationTimeout": 0,
              "EngineConfigs": [{"EngineType": "py_sim", "EngineName": "sim", "PythonFileName": "engine.py",
                                 "Simulator": simulator, "WorldFileName": world, "EngineTimestep": timestep,
                                 "EngineExtraConfigs": extra, "ServerAddress": "127.0.0.1:0",
                                 "RegistrationServerAddress": "127.0.0.1:0"}]}
    (directory / "simulation_config.json").write_text(json.dumps(config, indent=2))
    return "simulation_config.json"


def nrpcoresim_rate(experiment: pathlib.Path, config: str, steps: int, log_dir: pathlib.Path, args: str = "") -> float:
    # Engines print; their output goes to a log file, not to this table.
    return steps_per_s(experiment, config, steps, log_dir / f"{experiment.name}.log", args=args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement; medians are printed")
    options = parser.parse_args()
    os.environ["PATH"] = f"{pathlib.Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    steps, repeat = options.steps, options.repeat

    def median(measure) -> float:
        return statistics.median(measure() for _ in range(repeat))

    print(f"{'simulator':10} {'dt ms':>6} {'bare /s':>9} {'manager /s':>10} {'NRPCoreSim /s':>13} "
          f"{'bare/NRPCoreSim':>15} {'ms cost/step':>12} {'experiment /s':>13}")
    in_process_rows = []
    with tempfile.TemporaryDirectory() as work:
        work_dir = pathlib.Path(work)
        for name, (_, _, timestep, _) in ENGINES.items():
            experiment = work_dir / name
            config = write_experiment(name, experiment)
            bare = median(lambda: bare_rate(name, steps))
            wrapped = median(lambda: manager_rate(name, steps, experiment))
            core = median(lambda: nrpcoresim_rate(experiment, config, steps, work_dir))
            shipped = ""
            if name in SHIPPED:
                shipped_rate = median(lambda: nrpcoresim_rate(EXPERIMENTS / SHIPPED[name], "simulation_config.json",
                                                              steps, work_dir))
                shipped = f"{shipped_rate:8.0f} ({SHIPPED[name]})"
            cost_ms = 1000 * (1 / core - 1 / bare)
            print(f"{name:10} {timestep * 1000:6.0f} {bare:9.0f} {wrapped:10.0f} {core:13.0f} {bare / core:15.1f} "
                  f"{cost_ms:12.3f} {shipped}")
            local = median(lambda: nrpcoresim_rate(experiment, config, steps, work_dir, IN_PROCESS_ARGS))
            local_shipped = ""
            if name in SHIPPED:
                local_shipped_rate = median(lambda: nrpcoresim_rate(EXPERIMENTS / SHIPPED[name], "simulation_config.json",
                                                                    steps, work_dir, IN_PROCESS_ARGS))
                local_shipped = f"{local_shipped_rate:8.0f} ({local_shipped_rate / shipped_rate:.1f}x)"
            in_process_rows.append(
                f"{name:10} {local:13.0f} {local / core:12.1f} {bare / local:12.2f} {1e6 * (1 / local - 1 / bare):15.1f} "
                f"{1e6 * (1 / local - 1 / wrapped):18.1f} {local_shipped}")
    print(f"\n{'in-process':10} {'NRPCoreSim /s':>13} {'x over RPC':>12} {'bare/local':>12} {'µs cost/step':>15} "
          f"{'µs over manager':>18} {'experiment /s (x over RPC)':>27}")
    print("\n".join(in_process_rows))
    print(f"\nmedians of {repeat} runs of {steps} steps. bare: the simulator's step in this process; manager: "
          f"SimulatorManager.run_step in this process; NRPCoreSim: one py_sim engine, no functions, through the "
          f"NrpCore client with run_loop({steps}); ms cost/step: NRPCoreSim's time per step minus the bare one; "
          f"experiment: the shipped experiment (engine + TF + status function) the same way. in-process: the "
          f"same experiments with the py_sim engine inside NRPCoreSim (LaunchType InProcess), no RPC; µs cost/step: "
          f"its time per step minus the bare one, µs over manager: minus SimulatorManager.run_step's.")


if __name__ == "__main__":
    main()
