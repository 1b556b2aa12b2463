"""Runs one function of this package in a process of its own and prints its result.

    python suite_child.py MODULE FUNCTION KWARGS_JSON

The runner calls other modules' long-running functions (real_engines.run_real_engines, ...) this way
rather than on its own threads: every process they start then inherits the check's environment (its
marker and TMPDIR) and session, so a timeout or Ctrl-C ends them with the rest of the check. The
last stdout line is `RESULT <json>`: the returned dataclass's fields.
"""

import dataclasses
import importlib
import json
import pathlib
import sys


def main() -> int:
    module_name, function_name, kwargs = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
    module = importlib.import_module(f"conformance.{module_name}")
    result = getattr(module, function_name)(**kwargs)
    fields = dataclasses.asdict(result) if dataclasses.is_dataclass(result) else {"value": result}
    sys.stdout.write("\nRESULT " + json.dumps(fields, default=str) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.dont_write_bytecode = True
    sys.exit(main())
