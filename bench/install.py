"""Install benchmark (prints figures; not a timed test).

1. Render time of the ambient profile: values resolved and every component rendered from the release
   files already read (artifact download excluded), best of 5. Budget (issue): <= 0.5 s.
2. API requests `meshctl install -y` sends to an in-process fake API server with simulated
   controllers, by method, and how many of them are writes (POST, PUT, PATCH, DELETE; a server-side
   dry run is a PATCH too), for: a first install; a re-run, which must send no write; and
   `install --revision canary` on top, a second control plane beside the first.

Uses Istio's real release files from ../shared/data/upstream when present, else small stand-ins.

    python bench/install.py
"""

from __future__ import annotations

import collections
import io
import sys
import tempfile
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

UPSTREAM = ROOT.parent / "shared" / "data" / "upstream"
WRITES = ("POST", "PUT", "PATCH", "DELETE")
RUNS = (("first install", ()), ("no-op re-run", ()), ("install --revision canary", ("--revision", "canary")))


def release_dir(tmp: Path) -> Path:
    if (UPSTREAM / "base-1.30.3.tgz").is_file() and (UPSTREAM / "istiod-1.30.3.tgz").is_file():
        return UPSTREAM
    from tests.install.conftest import write_release_files

    return write_release_files(tmp / "release")


def render_seconds(files: Path) -> tuple[float, int]:
    from meshctl.install.artifacts import Artifacts
    from meshctl.install.render import render
    from meshctl.install.values import resolve

    store = Artifacts(source=files)
    crds, templates = store.istio_crds("1.30.3"), store.injection_templates("1.30.3")
    best, count = float("inf"), 0
    for _ in range(5):
        start = time.perf_counter()
        spec = resolve("ambient")
        components = render(spec, crds=crds, injection_templates=templates)
        best = min(best, time.perf_counter() - start)
        count = sum(len(c.objects) for c in components)
    return best, count


def install_requests(files: Path, tmp: Path) -> list[tuple[str, collections.Counter, int]]:
    """(label, requests by method, dry runs among the PATCHes) for each run in RUNS, in order."""
    from meshctl.cli.app import run
    from tests.fakekube import FakeKube, write_kubeconfig

    results = []
    with FakeKube(name="bench", controllers=True) as kube:
        kube.add({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1", "labels": {"kubernetes.io/os": "linux"}}})
        kc = write_kubeconfig(tmp / "kc.yaml", [kube])
        for label, extra in RUNS:
            kube.clear_requests()
            out, err = io.StringIO(), io.StringIO()
            with redirect_stdout(out), redirect_stderr(err):
                code = run(["install", "-y", "--skip-precheck", *extra, "--artifacts", str(files),
                            "--kubeconfig", str(kc)])
            if code:
                raise SystemExit(f"{label} failed ({code}): {err.getvalue()}")
            requests = list(kube.requests)
            dry = sum(1 for r in requests if r.method == "PATCH" and r.query.get("dryRun"))
            results.append((label, collections.Counter(r.method for r in requests), dry))
    return results


def main() -> None:
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        files = release_dir(tmp)
        seconds, objects = render_seconds(files)
        verdict = "ok" if seconds <= 0.5 else "over budget"
        print(f"render ambient profile ({objects} objects, files from {files}): {seconds:.3f} s ({verdict}, budget 0.5 s)")
        for label, counter, dry in install_requests(files, tmp):
            writes = {m: counter[m] for m in WRITES if counter[m]}
            detail = ", ".join(f"{method} {n}" for method, n in sorted(counter.items()))
            shown = ", ".join(f"{m} {n}" for m, n in writes.items()) or "none"
            dry_note = f" ({dry} of the PATCHes dry runs)" if dry else ""
            print(f"{label}: {sum(counter.values())} API requests ({detail}); "
                  f"writes: {sum(writes.values())} ({shown}){dry_note}")


if __name__ == "__main__":
    main()
