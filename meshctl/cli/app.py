"""The root command and the single exit point.

Every error raised below reaches ``run`` and leaves as one line saying what and where, a hint, and
the documented exit code; ``MESHCTL_DEBUG=1`` adds the traceback on stderr and changes nothing else.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Optional

import typer
from typer.core import TyperGroup

from meshctl.cli.common import completion_var
from meshctl.cli.options import HELP_OPTIONS
from meshctl.errors import ExitCode, MeshctlError, describe_bug

# typer 0.26-0.28 (pinned in pyproject.toml) carries its own copy of click; its errors live here.
from typer._click.exceptions import ClickException, UsageError

HELP = """Run Istio in ambient mode on one or many Kubernetes clusters.

Read commands take their state from exactly one source: the live cluster(s) (--kubeconfig,
--context), manifests (-f), or a snapshot (--snapshot).
"""

# Every command: its module (holding a Typer `app`) and the one-line summary the root help shows.
# Modules load only when their command runs, so start-up cost stays flat as commands are added;
# a test checks each summary against the command's own help.
COMMANDS: dict[str, tuple[str, str]] = {
    "analyze": ("meshctl.cli.analyze",
                "Analyze Istio, Gateway API and inference configuration for problems (istioctl-compatible codes)."),
    "validate": ("meshctl.cli.validate",
                 "Validate manifests against Istio's and Gateway API's schemas, without a cluster."),
    "waypoint": ("meshctl.cli.waypoint", "Manage waypoint proxies (Gateways of class istio-waypoint)."),
    "version": ("meshctl.cli.version",
                "Show meshctl's version and, from the cluster(s), the control-plane versions per revision."),
    "namespace": ("meshctl.cli.namespace", "Enroll namespaces in the ambient mesh, or list their enrollment."),
    "status": ("meshctl.cli.status",
               "One screen per cluster: control plane, ztunnel coverage, enrollment, gateways, peers and problems."),
    "snapshot": ("meshctl.cli.snapshot", "Capture cluster state for later, offline use, and inspect snapshots."),
    "topology": ("meshctl.cli.topology",
                 "Draw the mesh as a graph: clusters, namespaces, workloads, services, waypoints, gateways and "
                 "inference pools."),
    "artifacts": ("meshctl.cli.artifacts",
                  "Download, cache and bundle the upstream release files an install reads (CRDs, injection templates)."),
    "install": ("meshctl.cli.install",
                "Install the ambient control plane (Istio's CRDs, istiod, istio-cni, ztunnel) into a cluster."),
    "upgrade": ("meshctl.cli.upgrade", "Upgrade an installed revision in place, one minor Istio version at a time."),
    "uninstall": ("meshctl.cli.uninstall",
                  "Remove a control-plane revision, or with --purge everything meshctl installed."),
    "manifest": ("meshctl.cli.manifest",
                 "Render the control-plane manifest, or compare it with a cluster or another manifest."),
    "tag": ("meshctl.cli.tag", "Point revision tags (such as default) at control-plane revisions."),
    "dataplane": ("meshctl.cli.dataplane",
                  "Move the shared data plane (istio-cni, ztunnel) to a control-plane revision, node by node."),
    "precheck": ("meshctl.cli.precheck",
                 "Check that a cluster is ready for an ambient install and give a hint for every problem found."),
    "check": ("meshctl.cli.check", "Check an installed ambient mesh and give a hint for every problem found."),
    "ca": ("meshctl.cli.ca", "Create, install and inspect the certificate authorities that give clusters a shared root of trust."),
    "multicluster": ("meshctl.cli.multicluster",
                     "Link clusters into one ambient mesh across networks, and check or show the links."),
    "inference": ("meshctl.cli.inference",
                  "Serve AI inference traffic: enable the Gateway API Inference Extension, show pools, scaffold them."),
    "completion": ("meshctl.cli.completion", "Print a shell completion script."),
}


class CommandInterrupted(Exception):
    """Ctrl-C or SIGTERM in a command, carried past typer (which makes a KeyboardInterrupt a silent exit 130)."""

    def __init__(self, interrupt: BaseException) -> None:
        super().__init__()
        self.interrupt = interrupt


class LazyCommands(TyperGroup):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as err:
            raise CommandInterrupted(err) from None

    def list_commands(self, ctx):
        return list(COMMANDS)

    def get_command(self, ctx, name):
        entry = COMMANDS.get(name)
        if entry is None:
            return None
        command = typer.main.get_command(importlib.import_module(entry[0]).app)
        command.name = name
        return command

    def format_commands(self, ctx, formatter):
        with formatter.section("Commands"):
            formatter.write_dl([(name, summary) for name, (_, summary) in COMMANDS.items()])


app = typer.Typer(
    name="meshctl",
    cls=LazyCommands,
    help=HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings=HELP_OPTIONS,
)


def _show_version(value: bool) -> None:
    if value:
        from meshctl import __version__

        sys.stdout.write(f"{__version__}\n")
        raise typer.Exit()


@app.callback()
def root(
    no_color: Annotated[bool, typer.Option("--no-color", envvar="MESHCTL_NO_COLOR",
                                           help="never colour output (NO_COLOR and TERM=dumb also work).")] = False,
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True,
                                         help="log more to stderr (-v info, -vv debug).")] = 0,
    show_version: Annotated[Optional[bool], typer.Option("--version", callback=_show_version, is_eager=True,
                                                         help="print the version and exit.")] = None,
) -> None:
    if no_color:
        from meshctl.render.console import set_no_color

        set_no_color(True)
    if verbose:  # without -v, Python's last-resort handler prints warnings as plain lines on stderr
        import logging

        level = logging.INFO if verbose == 1 else logging.DEBUG
        logging.basicConfig(level=level, format="%(levelname)s: %(message)s", stream=sys.stderr)


# Boolean flags that istioctl users write Go-style (`--use-kube=false`); click flags take no value.
GO_STYLE_BOOLEANS = ("use-kube", "remote")


# Options whose value may be left out (`--waypoint` alone means `--waypoint=waypoint`); a value is
# given with `=`, so a following word stays an argument.
OPTIONAL_VALUES = {"--waypoint": "waypoint"}


def normalize_go_booleans(argv: list[str]) -> list[str]:
    """``--use-kube=false`` -> ``--no-use-kube``, ``--use-kube=true`` -> ``--use-kube``; a bare
    optional-value flag gets its default value."""
    out = []
    for arg in argv:
        if arg in OPTIONAL_VALUES:
            arg = f"{arg}={OPTIONAL_VALUES[arg]}"
        name, sep, value = arg.partition("=")
        if sep and name.startswith("--") and name[2:] in GO_STYLE_BOOLEANS and value.lower() in ("true", "false"):
            arg = name if value.lower() == "true" else f"--no-{name[2:]}"
        out.append(arg)
    return out


def prog_name() -> str:
    """``kubectl mesh`` when run as the kubectl plugin, else ``meshctl``."""
    base = os.path.basename(sys.argv[0]) if sys.argv else ""
    return "kubectl mesh" if base.startswith("kubectl-mesh") else "meshctl"


def _completion_requested(name: str) -> bool:
    return completion_var(name) in os.environ


MAX_IGNORED_SHOWN = 10


def warn_ignored() -> None:
    """Say which fields of which objects were read as absent because they had the wrong type."""
    from meshctl.kube.fields import take_notes
    from meshctl.render.console import warn

    notes = take_notes()
    for line in notes[:MAX_IGNORED_SHOWN]:
        warn(line)
    if len(notes) > MAX_IGNORED_SHOWN:
        warn(f"... and {len(notes) - MAX_IGNORED_SHOWN} more fields ignored; 'meshctl analyze' reports each one")


# Commands that change a cluster: interrupted, they say that running them again finishes the job.
MUTATING_COMMANDS = {
    "install": None, "upgrade": None, "uninstall": None, "namespace": {"enroll", "unenroll"},
    "waypoint": {"apply", "delete"}, "tag": {"set", "remove"}, "multicluster": {"link", "unlink", "expose"},
    "ca": {"install"}, "dataplane": {"upgrade"}, "inference": {"enable", "scaffold"},
}


def is_mutating(args: list[str]) -> bool:
    """Whether ``args`` run a command that changes a cluster (root options are flags without values)."""
    words = args[next((i for i, a in enumerate(args) if not a.startswith("-")), len(args)):]
    if not words or words[0] not in MUTATING_COMMANDS:
        return False
    verbs = MUTATING_COMMANDS[words[0]]
    return verbs is None or (len(words) > 1 and words[1] in verbs)


def interrupted_message(err: BaseException, args: list[str]) -> str:
    """One line: how far a mutating command got (the installer knows), and that re-running finishes it."""
    message = getattr(err, "message", None)
    if isinstance(message, str) and message:
        return message
    if is_mutating(args):
        return "interrupted; run the same command to finish — meshctl writes are safe to repeat"
    return "interrupted"


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """While a command runs, SIGTERM ends it as Ctrl-C does (same message, exit 130, no traceback)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread (in-process callers elsewhere)
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run(argv: list[str] | None = None) -> int:
    """Run one command; return its exit code. Never raises; MESHCTL_DEBUG=1 adds the traceback on stderr."""
    try:
        return _run(argv)
    finally:
        if "meshctl.kube.live" in sys.modules:  # only a command that talked to a cluster has files to remove
            sys.modules["meshctl.kube.live"].cleanup()


def _run(argv: list[str] | None) -> int:
    from meshctl.render.console import report_error

    debug = os.environ.get("MESHCTL_DEBUG") == "1"
    if debug:
        import traceback
    from meshctl.kube.fields import take_notes

    take_notes()  # in-process callers run several commands: start clean
    name = prog_name()
    if _completion_requested(name):
        from typer._completion_classes import completion_init

        completion_init()  # the shell asks for completions: register typer's shell handlers
    args: list[str] = []
    try:
        args = normalize_go_booleans(sys.argv[1:] if argv is None else argv)
        with sigterm_as_interrupt():
            result = app(args=args, prog_name=name, standalone_mode=False)
        warn_ignored()
        return int(result) if isinstance(result, int) else 0
    except MeshctlError as err:
        if debug:
            traceback.print_exc()
        warn_ignored()
        report_error(err.message, err.hint)
        return int(err.exit_code)
    except UsageError as err:
        err.show()
        return int(ExitCode.USAGE)
    except typer.Exit as err:
        return int(err.exit_code)
    except SystemExit as err:  # shell completion ends this way
        return err.code if isinstance(err.code, int) else int(ExitCode.ERROR)
    except (CommandInterrupted, typer.Abort, KeyboardInterrupt) as err:
        from meshctl.render.console import is_tty

        # On a terminal the ^C echo is left on the current line: start a fresh one.
        lead = "\n" if is_tty(sys.stderr) else ""
        cause = err.interrupt if isinstance(err, CommandInterrupted) else err
        if debug:
            traceback.print_exception(cause)
        sys.stderr.write(f"{lead}{interrupted_message(cause, args)}\n")
        sys.stderr.flush()
        return int(ExitCode.INTERRUPTED)
    except ClickException as err:
        err.show()
        return int(err.exit_code)
    except BrokenPipeError:
        # Output piped into `head` and closed early: not an error; silence the flush at exit.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - replaced for interpreter shutdown
        return int(ExitCode.OK)
    except Exception as err:  # a bug: still one line, with a way to see more
        if debug:
            traceback.print_exc()
        warn_ignored()
        # Where, not what: an exception's text can quote the data it choked on, secrets included.
        report_error(
            f"internal error: {describe_bug(err)}",
            "this is a meshctl bug; re-run with MESHCTL_DEBUG=1 for the traceback and report it",
        )
        return int(ExitCode.ERROR)


def main() -> None:
    sys.exit(run())
