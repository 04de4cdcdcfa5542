"""Options shared by the leaf commands, declared once (kubectl's names where kubectl has one)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

SOURCE = "Source"
OUTPUT = "Output"
HELP_OPTIONS = {"help_option_names": ["-h", "--help"]}


def command_app(**settings) -> typer.Typer:
    """A Typer app for one command family, with meshctl's settings: plain help text (no rich
    rendering to import), -h/--help, and errors left to meshctl's single exit point."""
    return typer.Typer(rich_markup_mode=None, add_completion=False, pretty_exceptions_enable=False,
                       context_settings=HELP_OPTIONS, **settings)


Kubeconfig = Annotated[
    Optional[str],
    typer.Option("--kubeconfig", envvar="MESHCTL_KUBECONFIG", metavar="PATH",
                 help="kubeconfig file(s), ':'-separated like KUBECONFIG (default: $KUBECONFIG or ~/.kube/config).",
                 rich_help_panel=SOURCE, show_default=False),
]
Context = Annotated[
    Optional[str],
    typer.Option("--context", envvar="MESHCTL_CONTEXT", metavar="NAME",
                 help="kubeconfig context (a cluster name when reading a snapshot).",
                 rich_help_panel=SOURCE, show_default=False),
]
Contexts = Annotated[
    Optional[list[str]],
    typer.Option("--context", metavar="NAME",
                 help="kubeconfig context; repeat for several clusters (cluster names when reading a snapshot).",
                 rich_help_panel=SOURCE, show_default=False),
]
Filenames = Annotated[
    Optional[list[str]],
    typer.Option("--filename", "-f", metavar="PATH",
                 help="read manifests instead of a cluster: a file, a directory (recursive), or - for stdin.",
                 rich_help_panel=SOURCE, show_default=False),
]
Snapshot = Annotated[
    Optional[str],
    typer.Option("--snapshot", envvar="MESHCTL_SNAPSHOT", metavar="PATH",
                 help="read a snapshot (directory or .tar.gz) made by 'meshctl snapshot save'.",
                 rich_help_panel=SOURCE, show_default=False),
]
IstioNamespace = Annotated[
    str,
    typer.Option("--istio-namespace", "-i", envvar="MESHCTL_ISTIO_NAMESPACE", metavar="NS",
                 help="namespace of the Istio control plane."),
]
Namespace = Annotated[
    Optional[str],
    typer.Option("--namespace", "-n", metavar="NS", help="namespace to read.", show_default=False),
]
AllNamespaces = Annotated[
    bool, typer.Option("--all-namespaces", "-A", help="read every namespace.")
]
DataOutput = Annotated[
    Optional[str],
    typer.Option("--output", "-o", metavar="FORMAT", help="json or yaml (default: a table).",
                 rich_help_panel=OUTPUT, show_default=False),
]
