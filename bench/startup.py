"""Start-up benchmark: how much slower than a bare Python start are `meshctl --help` and
`meshctl version --no-remote`? Prints medians and ratios (budget: <= 8x). Not a timed test.

    python bench/startup.py [--runs N]

The commands are run interleaved, round after round, so that a busy moment on the machine hits the
baseline and meshctl alike instead of skewing one median.
"""

from __future__ import annotations

import argparse
import compileall
import importlib.util
import statistics
import subprocess
import sys
import time
from pathlib import Path

BUDGET = 8.0


def wall(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, capture_output=True, check=False)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21, help="rounds (at least 7)")
    args = parser.parse_args()
    runs = max(args.runs, 7)
    py = sys.executable
    # Time the command users run: the console script beside this Python, else `python -m meshctl`.
    script = Path(py).with_name("meshctl")
    meshctl = [str(script)] if script.exists() else [py, "-m", "meshctl"]
    # As installed packages are: byte-compiled (PYTHONDONTWRITEBYTECODE would otherwise recompile each run).
    compileall.compile_dir(str(Path(importlib.util.find_spec("meshctl").origin).parent), quiet=1)
    commands = {
        "python -c pass": [py, "-c", "pass"],
        "meshctl --help": [*meshctl, "--help"],
        "meshctl version --no-remote": [*meshctl, "version", "--no-remote"],
    }
    for cmd in commands.values():  # warm the page cache
        wall(cmd)
    times: dict[str, list[float]] = {label: [] for label in commands}
    for _ in range(runs):
        for label, cmd in commands.items():
            times[label].append(wall(cmd))
    base = statistics.median(times["python -c pass"])
    print(f"{'python -c pass':<29} {base * 1000:7.1f} ms  (baseline; medians of {runs} interleaved rounds)")
    worst = 0.0
    for label in list(commands)[1:]:
        t = statistics.median(times[label])
        worst = max(worst, t / base)
        print(f"{label:<29} {t * 1000:7.1f} ms  {t / base:5.1f}x  (budget {BUDGET:.0f}x)")
    print(f"worst ratio {worst:.1f}x: {'within' if worst <= BUDGET else 'OVER'} budget")
    return 0


if __name__ == "__main__":
    sys.exit(main())
