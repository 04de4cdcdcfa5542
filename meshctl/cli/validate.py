"""``meshctl validate``: schema validation of manifests only."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from meshctl.cli import options as opt

app = opt.command_app()


@app.command("validate")
def validate(
    paths: Annotated[Optional[list[str]], typer.Argument(metavar="[FILE|DIR|-]...", help="manifests to validate.",
                                                         show_default=False)] = None,
    files: opt.Filenames = None,
    recursive: Annotated[bool, typer.Option("--recursive", "-R", help="read directories recursively.")] = False,
    output: Annotated[str, typer.Option("--output", "-o", metavar="FORMAT",
                                        help="log, json, yaml, sarif, junit or github.")] = "log",
    failure_threshold: Annotated[str, typer.Option("--failure-threshold", metavar="LEVEL",
                                                   help="exit 79 at this level or above.")] = "Error",
) -> None:
    """Validate manifests against Istio's and Gateway API's schemas, without a cluster."""
    from meshctl.analysis.session import AnalyzeRequest, run_request
    from meshctl.cli.common import show_outcome
    from meshctl.errors import UsageError

    given = [*(paths or []), *(files or [])]
    if not given:
        raise UsageError("no files to validate", hint="pass files or directories, or - for stdin")
    outcome = run_request(AnalyzeRequest(paths=given, recursive=recursive, use_kube=False, output=output,
                                         failure_threshold=failure_threshold, schema_only=True))
    show_outcome(outcome.stdout, outcome.notes)
    raise typer.Exit(outcome.exit_code)
