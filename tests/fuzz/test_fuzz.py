"""Fuzz every input path of the CLI: bad input gets a documented exit code and a clear error, never a
traceback, a hang, a write outside the target or a printed secret (oracle: tests/fuzz/harness.py).

Each test draws cases from tests/fuzz/gen.py through hypothesis (derandomized, so CI sees the same
inputs every run; no shrinking, so a failing run stays short: bench/fuzz.py reduces failing inputs
and writes a report). A generated manifest, and each fixed mutation of issue 13 (as a file and as a
snapshot), is read by every read command.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.fuzz import gen
from tests.fuzz.gen import Case, CharDevice, Fifo, Symlink
from tests.fuzz.harness import Outcome

FUZZ = settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
rngs = st.randoms(use_true_random=False)


def describe(case: Case, failures: list[Outcome]) -> str:
    lines = [f"{len(failures)} command(s) failed on: {case.note[:300]}"]
    for o in failures[:6]:
        args = " ".join(a if len(a) <= 60 else f"{a[:30]}...({len(a)} chars)" for a in o.argv)
        lines.append(f"  meshctl {args}\n    exit {o.code}: {'; '.join(o.problems)[:400]}")
        if o.site:
            lines.append(f"    site: {o.site}")
    return "\n".join(lines)


def check(harness, case: Case, commands: list[list[str]] | None = None) -> None:
    outcomes = [harness.run(case, argv) for argv in (commands or case.commands)]
    failures = [o for o in outcomes if not o.ok]
    if failures:
        raise AssertionError(describe(case, failures))


# -- generated inputs, one test per path ------------------------------------------------------
# The mutated manifest runs through every read command; the other paths through a few drawn at
# random (bench/fuzz.py runs many more inputs). Small neighbourhoods keep each case quick.

COMPANY = 4


def some(rng, commands: list[list[str]], k: int) -> list[list[str]]:
    return rng.sample(commands, min(k, len(commands)))


@FUZZ
@given(rng=rngs)
def test_manifest_file_with_one_field_of_the_wrong_type(fuzz, rng):
    check(fuzz, gen.gen_manifest_file(rng, COMPANY))


@FUZZ
@given(rng=rngs)
def test_stdin(fuzz, rng):
    case = gen.gen_stdin(rng, COMPANY)
    check(fuzz, case, some(rng, case.commands, 5))


@FUZZ
@given(rng=rngs)
def test_snapshot_directory(fuzz, rng):
    case = gen.gen_snapshot_dir(rng, COMPANY)
    if case.isolate:  # FIFOs and devices have their own tests
        return
    check(fuzz, case, some(rng, case.commands, 6))


@FUZZ
@given(rng=rngs)
def test_snapshot_archive(fuzz, rng):
    case = gen.gen_snapshot_tar(rng, COMPANY)
    if case.isolate:  # the gzip bomb has its own test
        return
    check(fuzz, case, some(rng, case.commands, 4))


@settings(FUZZ, max_examples=25)
@given(rng=rngs)
def test_kubeconfig(fuzz, rng):
    case = gen.gen_kubeconfig(rng)
    if case.isolate:  # a FIFO tokenFile has its own test
        return
    check(fuzz, case, some(rng, case.commands, 3))


@settings(FUZZ, max_examples=30)
@given(rng=rngs)
def test_install_values(fuzz, rng):
    if not gen.UPSTREAM_DIR.is_dir():
        pytest.skip(f"upstream release files not found at {gen.UPSTREAM_DIR}")
    check(fuzz, gen.gen_values(rng))


@settings(FUZZ, max_examples=30)
@given(rng=rngs)
def test_analyze_suppress(fuzz, rng):
    check(fuzz, gen.gen_suppress(rng))


# -- the mutations of issue 13, and the attacks a generator draws only now and then -------------


@pytest.mark.parametrize("kind, path, value", gen.KNOWN_MUTATIONS,
                         ids=[f"{k}-{gen.show_path(p)}" for k, p, _ in gen.KNOWN_MUTATIONS])
def test_known_mutation_through_every_read_command(fuzz, kind, path, value):
    for case in gen.known_mutation(kind, path, value):
        check(fuzz, case)


def demo_snapshot(**override) -> Case:
    """The demo's cluster1 namespaces, services and pods as a snapshot, with some files replaced."""
    picked = [i for i in gen.corpus() if i.group == "demo/cluster1" and i.resource in ("namespaces", "services", "pods")]
    docs = gen.snapshot_files({"cluster1": [(i.resource, i.fresh()) for i in picked]})
    files = {f"{gen.SNAP}/{rel}": gen.dump([doc], "flow") for rel, doc in docs.items()}
    files.update({f"{gen.SNAP}/{rel}": entry for rel, entry in override.items()})
    return Case("snapshot-dir", gen.offline_commands(["--snapshot", gen.SNAP], files=False), files,
                note=f"demo snapshot with {sorted(override)}")


READS = [["status", "--snapshot", gen.SNAP], ["check", "--snapshot", gen.SNAP],
         ["namespace", "list", "--snapshot", gen.SNAP, "-A"], ["version", "--snapshot", gen.SNAP]]
BLOCKING = 2.0  # seconds: a FIFO without a writer blocks forever, so a short timeout suffices


@pytest.mark.parametrize("rel, entry", [
    ("cluster1/pods.yaml", Fifo()),
    ("meta.yaml", Fifo()),
    ("cluster1/services.yaml", CharDevice(1, 5)),
    ("cluster1/pods.yaml", Symlink("/dev/zero")),
], ids=["fifo-pods", "fifo-meta", "device-services", "dev-zero-pods"])
def test_snapshot_with_a_special_file_does_not_hang(fuzz, rel, entry):
    case = demo_snapshot(**{rel: entry})
    case.isolate, case.timeout = True, BLOCKING
    check(fuzz, case, READS[:1])


def test_snapshot_with_files_linked_outside(fuzz):
    case = demo_snapshot(**{"cluster1/services.yaml": Symlink(f"{gen.SANDBOX}/outside/creds.yaml"),
                            "cluster1/pods.yaml": Symlink("/etc/passwd")})
    secret = "s3cr3t" + "5" * 32
    case.files["outside/creds.yaml"] = f"token: {secret}\n".encode()
    case.secrets = [secret]
    check(fuzz, case, READS)


def test_fifo_token_file_does_not_hang(fuzz):
    config = {"apiVersion": "v1", "kind": "Config", "current-context": "fuzz",
              "clusters": [{"name": "fuzz", "cluster": {"server": f"http://127.0.0.1:{gen.CLOSED}"}}],
              "users": [{"name": "fuzz", "user": {"tokenFile": f"{gen.SANDBOX}/in/token"}}],
              "contexts": [{"name": "fuzz", "context": {"cluster": "fuzz", "user": "fuzz"}}]}
    case = Case("kubeconfig", [["status", "--kubeconfig", "in/kc.yaml"]],
                {"in/kc.yaml": gen.dump([config]), "in/token": Fifo()}, note="tokenFile is a FIFO",
                isolate=True, timeout=BLOCKING)
    check(fuzz, case)


def test_gzip_bomb_snapshot(fuzz):
    bomb = gen.gzip_bomb(gen.BOMB_MEMBERS, gen.BOMB_MIB)
    case = Case("snapshot-tar", [["status", "--snapshot", "in/bomb.tar.gz"]], {"in/bomb.tar.gz": bomb},
                note=f"{gen.BOMB_MEMBERS} members of {gen.BOMB_MIB} MiB of zeros", isolate=True, timeout=10.0)
    check(fuzz, case)


def test_archive_members_never_land_outside(fuzz):
    import random

    rng = random.Random(0)
    for _ in range(40):  # until both traversal variants came up
        case = gen.gen_snapshot_tar(rng)
        if "path traversal" in case.note or "absolute member" in case.note:
            check(fuzz, case, [["status", "--snapshot", next(iter(case.files))]])


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\x00", "\x1b[2J", "é", "\u2028"],
                         ids=["newline", "crlf", "nul", "escape", "non-ascii", "line-separator"])
@pytest.mark.parametrize("where", ["token", "tokenFile"])
def test_kubeconfig_token_with_odd_characters_is_not_printed(fuzz, ending, where):
    secret = "s3cr3t" + "7" * 32
    user = {"token": secret + ending} if where == "token" else {"tokenFile": f"{gen.SANDBOX}/in/token"}
    config = {"apiVersion": "v1", "kind": "Config", "current-context": "fuzz",
              "clusters": [{"name": "fuzz", "cluster": {"server": gen.FAKE}}],
              "users": [{"name": "fuzz", "user": user}],
              "contexts": [{"name": "fuzz", "context": {"cluster": "fuzz", "user": "fuzz"}}]}
    files = {"in/kc.yaml": gen.dump([config])}
    if where == "tokenFile":
        files["in/token"] = (secret + ending).encode()
    case = Case("kubeconfig", [["status", "--kubeconfig", "in/kc.yaml"], ["version", "--remote", "--kubeconfig", "in/kc.yaml"]],
                files, secrets=[secret], note=f"{where} ending {ending!r}")
    check(fuzz, case)
