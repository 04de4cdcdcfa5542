"""Start-up benchmark: how much slower than a bare Python start are `meshctl --help` and
`meshctl version --no-remote`? Prints medians and ratios (budget: <= 8x). Not a timed test.

    python bench/startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

BUDGET = 8.0


def median_seconds(cmd: list[str], runs: int) -> float:
    subprocess.run(cmd, capture_output=True, check=False)  # warm the page cache and .pyc files
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="runs per command (at least 7)")
    args = parser.parse_args()
    runs = max(args.runs, 7)
    py = sys.executable
    base = median_seconds([py, "-c", "pass"], runs)
    print(f"python -c pass                  {base * 1000:7.1f} ms  (baseline, median of {runs})")
    worst = 0.0
    for label, cmd in (
        ("meshctl --help", [py, "-m", "meshctl", "--help"]),
        ("meshctl version --no-remote", [py, "-m", "meshctl", "version", "--no-remote"]),
    ):
        t = median_seconds(cmd, runs)
        ratio = t / base
        worst = max(worst, ratio)
        print(f"{label:<31} {t * 1000:7.1f} ms  {ratio:5.1f}x  (budget {BUDGET:.0f}x)")
    print(f"worst ratio {worst:.1f}x: {'within' if worst <= BUDGET else 'OVER'} budget")
    return 0


if __name__ == "__main__":
    sys.exit(main())
