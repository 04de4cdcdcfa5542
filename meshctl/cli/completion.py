"""``meshctl completion bash|zsh|fish|powershell``."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

from meshctl.cli.options import command_app

app = command_app()


class Shell(str, Enum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"
    powershell = "powershell"


def completion_script(shell: str, prog_name: str = "meshctl") -> str:
    """The script that makes ``shell`` ask meshctl itself for completions."""
    from typer._completion_shared import get_completion_script

    from meshctl.cli.common import completion_var

    return get_completion_script(prog_name=prog_name, complete_var=completion_var(prog_name), shell=shell) + "\n"


@app.command("completion")
def completion(
    shell: Annotated[Shell, typer.Argument(help="the shell to write a completion script for.")],
) -> None:
    """Print a shell completion script.

    \b
    bash:        source <(meshctl completion bash)
    zsh:         meshctl completion zsh > "${fpath[1]}/_meshctl"
    fish:        meshctl completion fish > ~/.config/fish/completions/meshctl.fish
    powershell:  meshctl completion powershell | Out-String | Invoke-Expression
    """
    from meshctl.cli.common import emit

    emit(completion_script(shell.value))
