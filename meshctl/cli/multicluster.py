"""``meshctl multicluster expose|link|unlink|check|status``.

The commands that change clusters live in ``multicluster_link.py``, the ones that read them in
``multicluster_check.py``; this module only puts them under one sub-command.
"""

from __future__ import annotations

from meshctl.cli import multicluster_check, multicluster_link
from meshctl.cli import options as opt

app = opt.command_app(
    help="Link clusters into one ambient mesh across networks, and check or show the links.\n\n"
         "A typical run: meshctl ca generate and ca install for a shared root, then "
         "meshctl multicluster link --context A --context B --expose, then meshctl multicluster check.",
    no_args_is_help=True)

app.command("expose")(multicluster_link.expose)
app.command("link")(multicluster_link.link)
app.command("unlink")(multicluster_link.unlink)
app.command("check")(multicluster_check.check)
app.command("status")(multicluster_check.status)
