"""Fuzz benchmark (prints figures; not a timed test).

Runs N generated inputs per input path (manifest files, stdin, snapshot directories, snapshot
archives, kubeconfigs, install values, analyze --suppress), after the fixed mutations of issue 13
("known": every read command on each, as a file and as a snapshot), through ``meshctl.cli.app.run``
in-process, with the generators and the oracle of tests/fuzz (plain ``random`` with a fixed seed
here, for throughput; the tests drive the same generators through hypothesis). Each input is one
generated case and one of its command lines, picked at random. Prints per path and in total: inputs
tried, internal errors, tracebacks, hangs, files written outside the target, secrets printed, other
problems, distinct crash sites, and the throughput.

    python bench/fuzz.py 20000                              # >= 100,000 inputs in all
    python bench/fuzz.py 20000 --jobs 2                     # the same on two cores
    python bench/fuzz.py 300 --save /tmp/fuzz-cases --report /tmp/fuzz-findings.md
    python bench/fuzz.py 200 --paths stdin,values --seed 7
    python bench/fuzz.py --replay /tmp/fuzz-cases/values-001   # run a saved case again

Live paths use a closed 127.0.0.1 port or the fake API server (tests/fakekube), started once on
127.0.0.1. ``--report`` writes the distinct findings (deduplicated by site) as Markdown, each with
a reproducing input (the smallest one tried that shows the same site).
"""

from __future__ import annotations

import argparse
import copy
import random
import re
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fuzz import gen  # noqa: E402
from tests.fuzz.harness import Harness, Outcome, load_case, save_case, scratch_dir  # noqa: E402

COLUMNS = ("internal error", "traceback", "hang", "wrote outside target", "secret printed")
# reduce() never drops these: the input itself, and what keeps install from changing a cluster
KEEP_OPTIONS = ("-f", "--filename", "--snapshot", "--kubeconfig", "--artifacts", "--dry-run")
SAVE_PER_PATH = 5  # first failing inputs saved per path (besides the example of every finding)


@dataclass
class Finding:
    key: str  # the site ("ExcType at meshctl/file.py:line (function)") or the problem, generalised
    category: str
    count: int = 0
    paths: Counter = field(default_factory=Counter)
    commands: Counter = field(default_factory=Counter)
    example: tuple | None = None  # (case, outcome), the smallest input seen
    size: tuple[int, int] = (2, 0)
    saved: str = ""
    reduced: bool = False  # the example went through reduce() with its documents


def case_size(case: gen.Case) -> tuple[int, int]:
    """How big an example is: reducible ones (generated documents) first, then by bytes."""
    return (case.docs is None, len(case.stdin) + sum(len(v) if isinstance(v, bytes) else 1 for v in case.files.values()))


def finding_keys(case: gen.Case, o: Outcome) -> list[tuple[str, str]]:
    """(category, key) per distinct problem of an outcome: crashes by site, the rest by what happened."""
    keys = []
    for p in o.problems:
        category = p.split(":", 1)[0]
        if category in ("internal error", "escaped exception") and o.site:
            keys.append((category, o.site))
        elif category == "traceback" and o.site:
            continue  # the same crash, printed
        else:
            what = case.note.rsplit("; ", 1)[-1] if case.path.startswith("snapshot") else case.note
            what = what.split(" (", 1)[0].split(" holding", 1)[0].split(" = ", 1)[0]
            what = re.sub(r"\d+", "N", re.sub(r"'[^']*'|\"[^\"]*\"", "'...'", what))[:70]
            keys.append((category, f"{category} [{case.path}] {what}" if category != "exit code" else p))
    return keys


def reduce(h: Harness, case: gen.Case, o: Outcome, budget: int = 300) -> tuple[gen.Case, Outcome]:
    """A smaller input that fails at the same site: drop options one by one, then (for generated
    manifests) the other documents, all at once or one by one, then the mutated object's fields,
    outermost first."""
    site, argv, tries = o.site, list(o.argv), 0

    def same(c: gen.Case, a: list[str]) -> Outcome | None:
        nonlocal tries
        tries += 1
        again = h.run(c, a)
        return again if again.site == site else None

    i = 1
    while i < len(argv) - 1 and tries < budget:
        if argv[i].startswith("-") and argv[i] not in KEEP_OPTIONS:
            width = 2 if i + 1 < len(argv) and not argv[i + 1].startswith("-") else 1
            trial = argv[:i] + argv[i + width:]
            got = same(case, trial)
            if got:
                argv, o = trial, got
                continue
        i += 1
    if case.rebuild is None or not case.docs:
        return case, o
    docs = case.docs
    small, a = case.rebuild(docs[:1], argv)
    got = same(small, a)
    if got:
        case, argv, o, docs = small, a, got, docs[:1]
    for j in reversed(range(1, len(docs))):  # the others one by one
        if tries >= budget:
            break
        fewer = docs[:j] + docs[j + 1:]
        small, a = case.rebuild(fewer, argv)
        got = same(small, a)
        if got:
            case, argv, o, docs = small, a, got, fewer
    obj, depth = copy.deepcopy(docs[0]), 1
    while tries < budget:
        paths = [p for p in gen.paths_of(obj) if len(p) == depth]
        if not paths:
            break
        for p in reversed(paths):
            if tries >= budget:
                break
            trial = copy.deepcopy(obj)
            gen.set_at(trial, p, gen.DELETE)
            c, a = case.rebuild([trial, *docs[1:]], argv)
            got = same(c, a)
            if got:
                obj, case, argv, o = trial, c, a, got
        depth += 1
    return case, o


class Run:
    def __init__(self, harness: Harness, save: Path | None) -> None:
        self.h = harness
        self.save = save
        self.findings: dict[str, Finding] = {}
        self.saved_per_path: Counter = Counter()

    def record(self, case: gen.Case, o: Outcome) -> None:
        for category, key in finding_keys(case, o):
            f = self.findings.setdefault(key, Finding(key, category))
            f.count += 1
            f.paths[case.path] += 1
            f.commands[" ".join(o.argv[:2]) if o.argv[:1] != ["manifest"] else "manifest generate"] += 1
            first = f.example is None
            if first or case_size(case) < f.size:
                example = (case, o)
                if o.site and (first or not f.reduced) and (case.rebuild or len(o.argv) > 3):
                    example = reduce(self.h, case, o)
                    f.reduced = f.reduced or example[0].rebuild is not None
                f.example, f.size = example, case_size(example[0])
                if self.save:  # the example the report shows
                    f.saved = str(save_case(*example, self.save))
            elif self.save and self.saved_per_path[case.path] < SAVE_PER_PATH:
                save_case(case, o, self.save)
                self.saved_per_path[case.path] += 1


def run_path(run: Run, name: str, n: int, seed: int) -> dict:
    rng = random.Random(f"{seed}-{name}")
    make = gen.GENERATORS[name]

    def inputs():
        for _ in range(n):
            case = make(rng)
            yield case, rng.choice(case.commands)

    return run_inputs(run, inputs())


def known_inputs():
    """The fixed mutations of issue 13 (gen.KNOWN_MUTATIONS), every read command on each."""
    for kind, path, value in gen.KNOWN_MUTATIONS:
        for case in gen.known_mutation(kind, path, value):
            for argv in case.commands:
                yield case, argv


def run_inputs(run: Run, inputs) -> dict:
    tally: Counter = Counter()
    failing: list[str] = []
    sites: set[str] = set()
    start, reducing = time.perf_counter(), 0.0
    for case, argv in inputs:
        if case.needs_upstream and not Path(run.h.upstream).is_dir():
            continue
        o = run.h.run(case, argv)
        tally["inputs"] += 1
        kinds = o.kinds()
        for column in COLUMNS:
            if column in kinds or (column == "traceback" and "escaped exception" in kinds):
                tally[column] += 1
        if "secret in saved snapshot" in kinds:
            tally["secret printed"] += 1
        if kinds - set(COLUMNS) - {"escaped exception", "secret in saved snapshot"}:
            tally["other"] += 1
        if o.problems:
            tally["failing"] += 1
            if o.site:
                sites.add(o.site)
            if len(failing) < 3:
                failing.append(f"{' '.join(argv)[:110]}\n        {case.note[:150]}\n        -> {o.problems[0][:150]}")
            t = time.perf_counter()
            run.record(case, o)  # reducing and saving: not part of the throughput
            reducing += time.perf_counter() - t
    tally["seconds"] = time.perf_counter() - start - reducing
    tally["sites"] = len(sites)
    return {"tally": tally, "failing": failing}


def print_table(results: dict[str, dict]) -> None:
    head = f"{'path':<14} {'inputs':>7} {'internal':>8} {'tracebk':>7} {'hangs':>5} {'outside':>7} {'secrets':>7} " \
           f"{'other':>5} {'sites':>5} {'inputs/s':>8}"
    print(head)
    print("-" * len(head))
    total: Counter = Counter()
    for name, r in results.items():
        t = r["tally"]
        total.update(t)
        rate = t["inputs"] / t["seconds"] if t["seconds"] else 0.0
        print(f"{name:<14} {t['inputs']:>7} {t['internal error']:>8} {t['traceback']:>7} {t['hang']:>5} "
              f"{t['wrote outside target']:>7} {t['secret printed']:>7} {t['other']:>5} {t['sites']:>5} {rate:>8.0f}")
    rate = total["inputs"] / total["seconds"] if total["seconds"] else 0.0
    print("-" * len(head))
    print(f"{'total':<14} {total['inputs']:>7} {total['internal error']:>8} {total['traceback']:>7} {total['hang']:>5} "
          f"{total['wrote outside target']:>7} {total['secret printed']:>7} {total['other']:>5} {'':>5} {rate:>8.0f}")
    print(f"\n{total['inputs']} inputs in {total['seconds']:.1f} s: {rate:.0f} inputs/s; "
          f"{total['failing']} failing ({100 * total['failing'] / max(total['inputs'], 1):.2f}%)")


def _excerpt(case: gen.Case, limit: int = 700) -> str:
    """The input that matters: stdin, the file holding the mutated object, or the smallest input file."""
    if case.stdin:
        data, where = case.stdin, "stdin"
    else:
        blobs = [(k, v) for k, v in case.files.items() if isinstance(v, bytes) and k.startswith("in/")]
        if not blobs:
            return ""
        where, data = next(((k, v) for k, v in blobs if not k.endswith("meta.yaml")), blobs[0])
        if data[:2] == b"\x1f\x8b":
            return f"{where}: a gzip archive ({len(data)} bytes); see the saved case"
        if case.docs is None and len(blobs) > 1:
            listing = ", ".join(k for k in case.files)
            return f"files: {listing[:600]}"
    text = data.decode("utf-8", "replace")
    cut = f"\n... ({len(text)} characters)" if len(text) > limit else ""
    text = "".join(c if c.isprintable() or c in "\n\t" else repr(c)[1:-1] for c in text[:limit])
    return f"{where}:\n```\n{text[:limit]}{cut}\n```"


def show_argv(argv: list[str]) -> str:
    return " ".join(a if len(a) <= 60 else f"{a[:30]}...({len(a)} chars)" for a in argv)


def trace_tail(trace: str) -> list[str]:
    """The innermost meshctl/ frames of a traceback, and the exception line."""
    lines = trace.rstrip().splitlines()
    frames = [i for i, ln in enumerate(lines) if ln.startswith('  File "') and "/meshctl/" in ln]
    keep = []
    for i in frames[-3:]:
        keep += [lines[i].replace(str(ROOT) + "/", "")] + [ln for ln in lines[i + 1:i + 2]]
    return keep + [lines[-1][:400]]


def write_report(findings: dict[str, Finding], path: Path, header: str) -> None:
    crashes = sorted((f for f in findings.values() if f.category in ("internal error", "escaped exception")),
                     key=lambda f: (-f.count, f.key))
    others = sorted((f for f in findings.values() if f not in crashes), key=lambda f: (f.category, -f.count))
    lines = ["# meshctl fuzz findings", "", header, "",
             f"{len(crashes)} distinct crash sites (internal errors, by exception type and innermost meshctl/ frame); "
             f"{len(others)} other findings.", ""]
    lines += ["| # | site | hits | commands |", "|---|---|---|---|"]
    for i, f in enumerate(crashes, 1):
        lines.append(f"| C{i} | `{f.key}` | {f.count} | {', '.join(c for c, _ in f.commands.most_common(4))} |")
    lines.append("")
    for i, f in enumerate(crashes, 1):
        case, o = f.example
        lines += [f"## C{i}. {f.key}", "",
                  f"- hits: {f.count} (paths: {', '.join(f'{p} {n}' for p, n in f.paths.most_common())})",
                  f"- error: `{next((p for p in o.problems if p.startswith(('internal', 'escaped'))), '')[:300]}`",
                  f"- command: `meshctl {show_argv(o.argv)}`",
                  f"- input: {case.note[:400]}"]
        if f.saved:
            lines.append(f"- saved case: `{f.saved}` (replay: `python bench/fuzz.py --replay {f.saved}`)")
        lines.append("")
        excerpt = _excerpt(case)
        if excerpt:
            lines += [excerpt, ""]
        if o.trace:
            lines += ["```", *trace_tail(o.trace), "```", ""]
    if others:
        lines += ["## Other findings (not crashes)", ""]
        for f in others:
            case, o = f.example
            lines += [f"### {f.key}", "", f"- hits: {f.count}; commands: {', '.join(c for c, _ in f.commands.most_common(4))}",
                      f"- problem: `{next((p for p in o.problems if p.startswith(f.category)), '')[:300]}`",
                      f"- command: `meshctl {show_argv(o.argv)}`", f"- input: {case.note[:300]}"]
            if f.saved:
                lines.append(f"- saved case: `{f.saved}`")
            lines.append("")
    path.write_text("\n".join(lines) + "\n")


def replay(folders: list[str], harness: Harness) -> int:
    bad = 0
    for folder in folders:
        case = load_case(folder)
        o = harness.run(case, case.commands[0])
        bad += not o.ok
        print(f"{folder}: exit {o.code} in {o.seconds:.2f} s: {'; '.join(o.problems) or 'ok'}")
        if o.trace:
            print(o.trace)
        elif o.err:
            print(o.err[-1500:])
    return 1 if bad else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, nargs="?", default=1000, help="inputs per path")
    parser.add_argument("--paths", default=",".join(gen.GENERATORS), help="comma-separated input paths")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--save", type=Path, help="save failing inputs here (replay them with --replay)")
    parser.add_argument("--report", type=Path, help="write the distinct findings as Markdown here")
    parser.add_argument("--replay", nargs="+", metavar="CASE_DIR", help="run saved cases again and print what happens")
    parser.add_argument("--no-fake", action="store_true", help="no fake API server: live cases use a closed port")
    parser.add_argument("--no-known", action="store_true",
                        help="skip the fixed mutations of issue 13 (run once, every read command, before the paths)")
    parser.add_argument("--totals", type=Path, help=argparse.SUPPRESS)  # where a --jobs child leaves its totals
    parser.add_argument("--jobs", type=int, default=1,
                        help="run the paths in this many processes at once (each with its own fake API server)")
    args = parser.parse_args()
    if args.jobs > 1 and not args.replay:
        return run_jobs(args)
    fake = None
    if not args.no_fake:
        from tests.fakekube import FakeKube

        fake = FakeKube(name="fuzz", host="127.0.0.1").start()
    try:
        with tempfile.TemporaryDirectory(prefix="meshctl-fuzz-", dir=scratch_dir()) as work:
            harness = Harness(work, fake_url=fake.url if fake else None)
            if args.replay:
                return replay(args.replay, harness)
            names = [p for p in args.paths.split(",") if p]
            unknown = [p for p in names if p not in gen.GENERATORS]
            if unknown:
                parser.error(f"unknown paths {unknown}; known: {', '.join(gen.GENERATORS)}")
            gen.corpus()  # load the corpus outside the timings
            run = Run(harness, args.save)
            results = {}
            if not args.no_known:
                results["known"] = run_inputs(run, known_inputs())
            for name in names:
                results[name] = run_path(run, name, args.n, args.seed)
                t = results[name]["tally"]
                print(f"  {name}: {t['inputs']} inputs, {t['failing']} failing, {t['seconds']:.1f} s", file=sys.stderr)
            print(f"meshctl fuzz: {args.n} inputs per path, seed {args.seed}, "
                  f"fake API server {'at ' + fake.url if fake else 'off'}\n")
            print_table(results)
            print("\nfirst failing inputs:")
            for name, r in results.items():
                for line in r["failing"]:
                    print(f"  [{name}] {line}")
            crashes = [f for f in run.findings.values() if f.category in ("internal error", "escaped exception")]
            print(f"\n{len(crashes)} distinct crash sites, {len(run.findings) - len(crashes)} other findings")
            for f in sorted(crashes, key=lambda f: -f.count):
                print(f"  {f.count:>5}  {f.key}")
            if args.report:
                header = (f"Generated by `python bench/fuzz.py {args.n} --seed {args.seed}"
                          f"{' --paths ' + args.paths if args.paths != ','.join(gen.GENERATORS) else ''}` "
                          f"on {time.strftime('%Y-%m-%d %H:%M')}.")
                write_report(run.findings, args.report, header)
                print(f"\nreport written to {args.report}")
            if args.save:
                print(f"failing inputs saved under {args.save}")
            if args.totals:
                write_totals(args.totals, results, crashes)
    finally:
        if fake is not None:
            fake.stop()
    return 0


def write_totals(path: Path, results: dict, crashes: list) -> None:
    import json

    tally: Counter = Counter()
    for r in results.values():
        tally.update({k: v for k, v in r["tally"].items() if k not in ("seconds", "sites")})
    path.write_text(json.dumps({"tally": tally, "sites": [f.key for f in crashes]}))


def run_jobs(args) -> int:
    """The same run spread over ``--jobs`` processes (paths dealt round-robin, the fixed mutations in
    the first); each child prints its own table, then the totals of all are printed."""
    import json
    import os
    import subprocess

    names = [p for p in args.paths.split(",") if p]
    groups = [names[i::args.jobs] for i in range(args.jobs)]
    children = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="meshctl-fuzz-jobs-") as work:
        for i, group in enumerate(g for g in groups if g):
            argv = [sys.executable, __file__, str(args.n), "--paths", ",".join(group), "--seed", str(args.seed),
                    "--totals", os.path.join(work, f"{i}.json")]
            argv += ["--no-known"] if i or args.no_known else []
            argv += ["--no-fake"] if args.no_fake else []
            if args.save:
                argv += ["--save", str(args.save)]
            if args.report:
                argv += ["--report", str(args.report.with_suffix(f".{i}{args.report.suffix}"))]
            children.append(subprocess.Popen(argv, stdout=subprocess.PIPE, text=True))
        outputs = [c.communicate()[0] for c in children]
        totals: Counter = Counter()
        sites: set[str] = set()
        for i, out in enumerate(outputs):
            print(f"--- job {i + 1} of {len(outputs)}\n{out}")
            with open(os.path.join(work, f"{i}.json")) as handle:
                data = json.load(handle)
            totals.update(data["tally"])
            sites.update(data["sites"])
    seconds = time.perf_counter() - start
    print(f"all jobs: {totals['inputs']} inputs in {seconds:.1f} s ({totals['inputs'] / seconds:.0f} inputs/s); "
          + ", ".join(f"{totals[c]} {c}" for c in COLUMNS) + f"; {len(sites)} distinct crash sites")
    return 0 if all(c.returncode == 0 for c in children) else 1


if __name__ == "__main__":
    sys.exit(main())
