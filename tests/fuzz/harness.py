"""Run fuzz cases through ``meshctl.cli.app.run`` in-process, in a sandbox, and judge the result.

The oracle, for every command line run on an input:

- the exit code is one of the documented ones (0, 1, 2, 65, 69, 79);
- no "internal error" and no traceback in stdout or stderr (exit 1 is for documented errors only);
- no hang: the command ends within the case's timeout (10 s; 3 s for cases whose FIFO or device
  would block forever) -- enforced with SIGALRM, so the harness must run in the main thread;
- nothing written outside the target directory: the sandbox (inputs, HOME, TMPDIR) is listed
  before and after, and only ``out/`` may change (after what a process does at exit: the kubernetes
  client's temporary certificate files, removed by its atexit handler, are removed first);
- no planted secret printed, not even its first or last 12 characters or its base64 prefix;
  ``snapshot save`` must not store one either.

Internal errors are traced to their site (exception type and the innermost ``meshctl/`` frame) by
wrapping ``meshctl.render.console.report_error``, which ``run`` calls while handling the exception.
Cases marked ``isolate`` (FIFOs, devices, gzip bombs) run in a forked child with a memory limit.
No pytest or hypothesis import here.
"""

from __future__ import annotations

import base64
import io
import json
import os
import resource
import select
import shutil
import signal
import socket
import stat
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tests.fuzz import gen
from tests.fuzz.gen import CLOSED, FAKE, SANDBOX, UPSTREAM, Case, CharDevice, Directory, Fifo, Hardlink, Symlink

ROOT = gen.ROOT
PRODUCT = ROOT / "meshctl"
ALLOWED_CODES = frozenset({0, 1, 2, 65, 69, 79})
TARGET = "out"  # the only place a command may write (snapshot save's PATH lives here)
ESCAPE_CANARY = "PWNED-fuzz.yaml"  # archive members try to land files of this name outside
ISOLATED_MEMORY = 1 << 30  # address space a forked child may add (bombs end in MemoryError)
ENVIRONMENT = {"COLUMNS": "120", "NO_COLOR": "1", "TERM": "dumb"}
CLEARED = ("MESHCTL_DEBUG", "MESHCTL_KUBECONFIG", "MESHCTL_CONTEXT", "MESHCTL_SNAPSHOT", "MESHCTL_ISTIO_NAMESPACE",
           "KUBECONFIG", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "MESHCTL_CACHE")


class Hang(BaseException):
    """Raised by SIGALRM inside a command that ran past its timeout (not an Exception: run() must not catch it)."""


@dataclass
class Outcome:
    path: str
    argv: list[str]
    code: int | None = None
    out: str = ""
    err: str = ""
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)  # oracle violations; empty means the case passed
    site: str | None = None  # "ExcType at meshctl/x.py:123 (function)" for internal errors
    trace: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def kinds(self) -> set[str]:
        """Problem categories, for counting (the text before the first colon)."""
        return {p.split(":", 1)[0] for p in self.problems}


def scratch_dir() -> str | None:
    """A RAM-backed place for sandboxes when there is one (creating and removing hundreds of small
    directories per second is slow on some disks)."""
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


def closed_port() -> int:
    """A 127.0.0.1 port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def crash_site(exc: BaseException) -> str:
    """The exception type and the innermost frame inside meshctl/."""
    frames = traceback.extract_tb(exc.__traceback__)
    inner = [f for f in frames if f.filename.startswith(str(PRODUCT) + os.sep)]
    frame = inner[-1] if inner else (frames[-1] if frames else None)
    where = "?"
    if frame is not None:
        name = os.path.relpath(frame.filename, ROOT) if frame.filename.startswith(str(ROOT)) else frame.filename
        where = f"{name}:{frame.lineno} ({frame.name})"
    return f"{type(exc).__name__} at {where}"


def needles(secret: str) -> list[str]:
    """What must never appear: the secret, its first and last 12 characters, its base64 prefix."""
    return [secret, secret[:12], secret[-12:], base64.b64encode(secret.encode()).decode()[:16]]


class Harness:
    """One per process: crash capture, and per case a sandbox, the environment and a timer.

    ``fake_url`` is the fake API server's URL (``@FAKE@``); without it such cases point at a closed port.
    """

    def __init__(self, workdir: str | Path | None = None, *, fake_url: str | None = None,
                 upstream: str | Path | None = None) -> None:
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="meshctl-fuzz-", dir=scratch_dir())).resolve()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = closed_port()
        self.fake_url = fake_url
        self.upstream = str(upstream or gen.UPSTREAM_DIR)
        self._crashes: list[BaseException] = []
        self._count = 0
        from meshctl.cli.app import run  # noqa: F401 - import once, outside any timed case
        from meshctl.render import console

        original = console.report_error

        def capturing(message: str, hint: str | None) -> None:
            if message.startswith("internal error"):
                exc = sys.exc_info()[1]
                if exc is not None:
                    self._crashes.append(exc)
            original(message, hint)

        if not getattr(console.report_error, "_fuzz", False):
            capturing._fuzz = True  # type: ignore[attr-defined]
            console.report_error = capturing

    # -- sandbox ----------------------------------------------------------------------------

    def _subst(self, text: str, sandbox: Path) -> str:
        return (text.replace(SANDBOX, str(sandbox)).replace(CLOSED, str(self.port))
                .replace(FAKE, self.fake_url or f"http://127.0.0.1:{self.port}").replace(UPSTREAM, self.upstream))

    def _subst_bytes(self, data: bytes, sandbox: Path) -> bytes:
        if b"@" not in data:
            return data
        for key, value in ((SANDBOX, str(sandbox)), (CLOSED, str(self.port)),
                           (FAKE, self.fake_url or f"http://127.0.0.1:{self.port}"), (UPSTREAM, self.upstream)):
            data = data.replace(key.encode(), value.encode())
        return data

    def materialize(self, case: Case, sandbox: Path) -> None:
        for d in ("in", TARGET, "home", "tmp", "outside"):
            (sandbox / d).mkdir(parents=True, exist_ok=True)
        later = []
        for rel, entry in case.files.items():
            path = sandbox / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(entry, bytes):
                path.write_bytes(self._subst_bytes(entry, sandbox))
            else:
                later.append((path, entry))
        for path, entry in later:  # links after their targets
            if path.is_symlink() or path.exists():
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path)
                else:
                    path.unlink()
            if isinstance(entry, Symlink):
                path.symlink_to(self._subst(entry.target, sandbox))
            elif isinstance(entry, Hardlink):
                target = sandbox / entry.target
                if target.exists():
                    os.link(target, path)
            elif isinstance(entry, Fifo):
                os.mkfifo(path)
            elif isinstance(entry, CharDevice):
                try:
                    os.mknod(path, 0o644 | 0o020000, os.makedev(entry.major, entry.minor))
                except OSError:  # not allowed here: the same device through a link
                    path.symlink_to("/dev/zero")
            elif isinstance(entry, Directory):
                path.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def listing(root: Path) -> dict[str, tuple[int, int, int]]:
        """Everything under root except the target, by relative path: (mode, size, mtime) of files."""
        found = {}
        for dirpath, dirnames, filenames in os.walk(root):
            rel_dir = os.path.relpath(dirpath, root)
            if rel_dir == TARGET:
                dirnames[:] = []
                continue
            for name in dirnames + filenames:
                rel = os.path.normpath(os.path.join(rel_dir, name))
                if rel == TARGET:
                    continue
                try:
                    st = os.lstat(os.path.join(dirpath, name))
                except OSError:
                    continue
                # A directory counts by its existence: its mtime changes when a file comes and goes.
                found[rel] = (st.st_mode, 0, 0) if stat.S_ISDIR(st.st_mode) else (st.st_mode, st.st_size, st.st_mtime_ns)
        return found

    def canaries(self, sandbox: Path) -> list[Path]:
        return [sandbox.parent / ESCAPE_CANARY, sandbox / ESCAPE_CANARY, sandbox / "in" / ESCAPE_CANARY,
                Path(tempfile.gettempdir()) / ESCAPE_CANARY, Path("/tmp") / ESCAPE_CANARY, Path("/") / ESCAPE_CANARY,
                ROOT / ESCAPE_CANARY]

    # -- running ----------------------------------------------------------------------------

    def run(self, case: Case, argv: list[str]) -> Outcome:
        """Run one command line of a case (in a fresh sandbox) and judge it."""
        if case.isolate and hasattr(os, "fork"):
            return self._run_forked(case, argv)
        return self._run_here(case, argv)

    def run_all(self, case: Case) -> list[Outcome]:
        return [self.run(case, argv) for argv in case.commands]

    def _new_sandbox(self) -> Path:
        self._count += 1
        return Path(tempfile.mkdtemp(prefix=f"c{self._count}-", dir=self.workdir))

    def _run_here(self, case: Case, argv: list[str], sandbox: Path | None = None) -> Outcome:
        from meshctl.cli.app import run
        from meshctl.render import console

        sandbox = sandbox or self._new_sandbox()
        outcome = Outcome(case.path, list(argv))
        try:
            self.materialize(case, sandbox)
            args = [self._subst(a, sandbox) for a in argv]
            stdin = self._subst_bytes(case.stdin, sandbox)
            before = self.listing(sandbox)
            out, err = io.StringIO(), io.StringIO()
            saved = sys.stdin, sys.stdout, sys.stderr, os.getcwd(), tempfile.tempdir
            saved_env = {k: os.environ.get(k) for k in (*ENVIRONMENT, *CLEARED, "HOME")}
            saved_alarm = signal.getsignal(signal.SIGALRM)
            self._crashes.clear()
            escaped: BaseException | None = None
            timer = threading.current_thread() is threading.main_thread()
            start = time.perf_counter()
            try:
                os.chdir(sandbox)
                os.environ.update(ENVIRONMENT, HOME=str(sandbox / "home"))
                for k in CLEARED:
                    os.environ.pop(k, None)
                tempfile.tempdir = str(sandbox / "tmp")
                sys.stdin, sys.stdout, sys.stderr = io.TextIOWrapper(io.BytesIO(stdin)), out, err
                console.set_no_color(False)  # drops consoles bound to earlier streams
                if timer:
                    signal.signal(signal.SIGALRM, _raise_hang)
                    signal.setitimer(signal.ITIMER_REAL, case.timeout)
                outcome.code = run(args)
            except BaseException as exc:  # noqa: BLE001 - Hang, or whatever escaped run()
                escaped = exc
            finally:
                if timer:
                    signal.setitimer(signal.ITIMER_REAL, 0)
                    signal.signal(signal.SIGALRM, saved_alarm)
                outcome.seconds = time.perf_counter() - start
                sys.stdin, sys.stdout, sys.stderr = saved[0], saved[1], saved[2]
                os.chdir(saved[3])
                tempfile.tempdir = saved[4]
                for k, v in saved_env.items():
                    if v is None:
                        os.environ.pop(k, None)
                    else:
                        os.environ[k] = v
                console.set_no_color(False)
            outcome.out, outcome.err = out.getvalue(), err.getvalue()
            self._judge(case, outcome, sandbox, before, escaped)
        finally:
            shutil.rmtree(sandbox, ignore_errors=True)
        return outcome

    def _judge(self, case: Case, o: Outcome, sandbox: Path, before: dict, escaped: BaseException | None) -> None:
        text = o.out + o.err
        if isinstance(escaped, Hang) or o.seconds > case.timeout:
            o.problems.append(f"hang: over {case.timeout:g} s")
        elif escaped is not None:
            o.problems.append(f"escaped exception: {type(escaped).__name__}: {str(escaped)[:200]}")
            o.site = crash_site(escaped)
            o.trace = "".join(traceback.format_exception(escaped))
        if o.code is not None and o.code not in ALLOWED_CODES:
            o.problems.append(f"exit code: {o.code}")
        if "internal error" in text:
            first = next((line for line in text.splitlines() if "internal error" in line), "")
            o.problems.append(f"internal error: {first.split('internal error: ', 1)[-1][:300]}")
            if self._crashes:
                exc = self._crashes[-1]
                o.site = crash_site(exc)
                o.trace = "".join(traceback.format_exception(exc))
            else:
                o.site = o.site or "unknown site: " + first[first.find("internal error"):][:120]
        if "Traceback (most recent call last)" in text:
            o.problems.append("traceback: in the output")
        for secret in case.secrets:
            shown = [n for n in needles(secret) if n in text]
            if shown:
                o.problems.append(f"secret printed: {shown[0][:12]}... ({'full' if secret in text else 'partial'})")
        if gen.TEMPLATE_RESULT in text:
            o.problems.append("template injection: a {{ }} expression was evaluated")
        after = self.listing(sandbox)
        changed = sorted(p for p in after if before.get(p) != after[p])
        if changed:
            o.problems.append(f"wrote outside target: {', '.join(changed[:5])}")
        escapes = [str(p) for p in self.canaries(sandbox) if p.exists()]
        if escapes:
            o.problems.append(f"wrote outside target: {', '.join(escapes)}")
            for p in escapes:
                Path(p).unlink(missing_ok=True)
        target = sandbox / TARGET
        if case.secrets and any(target.iterdir()):
            for f in target.rglob("*"):
                if f.is_file() and not f.is_symlink():
                    data = _read_maybe_gzip(f)
                    for secret in case.secrets:
                        if any(n.encode() in data for n in needles(secret)[:1] + needles(secret)[3:]):
                            o.problems.append(f"secret in saved snapshot: {f.relative_to(sandbox)}")
                            break

    def _run_forked(self, case: Case, argv: list[str]) -> Outcome:
        """Run in a child with a memory limit and a hard deadline; the child reports as JSON."""
        sandbox = self._new_sandbox()
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # child
            try:
                os.close(r)
                used = int(Path("/proc/self/statm").read_text().split()[0]) * os.sysconf("SC_PAGE_SIZE")
                resource.setrlimit(resource.RLIMIT_AS, (used + ISOLATED_MEMORY, used + ISOLATED_MEMORY))
                self.fake_url = None  # its serving thread stays in the parent: use the closed port
                outcome = self._run_here(case, argv, sandbox)
                data = json.dumps(asdict(outcome)).encode()
                with os.fdopen(w, "wb") as pipe:
                    pipe.write(data)
            finally:
                os._exit(0)
        os.close(w)
        chunks, deadline = [], time.monotonic() + case.timeout + 15
        killed = False
        with os.fdopen(r, "rb") as pipe:
            while True:
                left = deadline - time.monotonic()
                ready = select.select([pipe], [], [], max(left, 0))[0] if left > 0 else []
                if not ready:
                    os.kill(pid, signal.SIGKILL)
                    killed = True
                    break
                chunk = os.read(pipe.fileno(), 1 << 16)
                if not chunk:
                    break
                chunks.append(chunk)
        _, status = os.waitpid(pid, 0)
        shutil.rmtree(sandbox, ignore_errors=True)
        if chunks:
            data = json.loads(b"".join(chunks))
            return Outcome(**data)
        outcome = Outcome(case.path, list(argv))
        if killed:
            outcome.problems.append(f"hang: over {case.timeout:g} s (child killed)")
        else:
            outcome.problems.append(f"crashed: child ended with status {status} (signal {os.WTERMSIG(status)})"
                                    if os.WIFSIGNALED(status) else f"crashed: child ended with status {status}")
        return outcome


def _raise_hang(signum, frame):
    raise Hang()


def _read_maybe_gzip(path: Path) -> bytes:
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        import gzip

        try:
            return gzip.decompress(data)
        except (OSError, EOFError):
            return data
    return data


# ---------------------------------------------------------------------------------------------
# Saving failing cases, and replaying them


def _entry_json(entry) -> dict:
    if isinstance(entry, bytes):
        return {"bytes": base64.b64encode(entry).decode()}
    return {type(entry).__name__: asdict(entry)}


def _entry_from(data: dict):
    if "bytes" in data:
        return base64.b64decode(data["bytes"])
    (name, fields), = data.items()
    return {"Symlink": Symlink, "Hardlink": Hardlink, "Fifo": Fifo, "CharDevice": CharDevice,
            "Directory": Directory}[name](**fields)


def save_case(case: Case, outcome: Outcome, directory: str | Path) -> Path:
    """Write ``case.json`` (argv, stdin, files with placeholders, what failed) into a new folder."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    n = len(list(directory.glob(f"{case.path}-*")))
    folder = directory / f"{case.path}-{n + 1:03d}"
    folder.mkdir()
    record = {
        "path": case.path, "argv": outcome.argv, "note": case.note, "isolate": case.isolate,
        "timeout": case.timeout, "secrets": case.secrets, "stdin": base64.b64encode(case.stdin).decode(),
        "files": {rel: _entry_json(e) for rel, e in case.files.items()},
        "problems": outcome.problems, "site": outcome.site, "code": outcome.code,
        "stderr": outcome.err[-2000:],
    }
    (folder / "case.json").write_text(json.dumps(record, indent=1))
    if outcome.trace:
        (folder / "traceback.txt").write_text(outcome.trace)
    return folder


def load_case(folder: str | Path) -> Case:
    record = json.loads((Path(folder) / "case.json").read_text())
    return Case(record["path"], [record["argv"]], {k: _entry_from(v) for k, v in record["files"].items()},
                stdin=base64.b64decode(record["stdin"]), secrets=record["secrets"], note=record["note"],
                isolate=record["isolate"], timeout=record["timeout"])
