"""The flags install, upgrade and manifest generate share (istioctl's names), declared once."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

VALUES = "Values"
UPSTREAM = "Upstream files"

Profile = Annotated[str, typer.Option(
    "--profile", "-p", metavar="NAME|FILE", rich_help_panel=VALUES,
    help="built-in profile (ambient, minimal, ambient-ingress) or a profile file.")]
StoredProfile = Annotated[Optional[str], typer.Option(
    "--profile", "-p", metavar="NAME|FILE", rich_help_panel=VALUES, show_default=False,
    help="built-in profile (ambient, minimal, ambient-ingress) or a profile file (default: the one the last "
         "install of this revision used, else ambient).")]
ResetValues = Annotated[bool, typer.Option(
    "--reset-values", rich_help_panel=VALUES,
    help="start from the profile and this run's flags only, instead of re-using the values the last install "
         "stored in the cluster.")]
ValuesFiles = Annotated[Optional[list[str]], typer.Option(
    "--filename", "-f", metavar="FILE", rich_help_panel=VALUES, show_default=False,
    help="values file (a values tree or an IstioOperator); repeat, later files win.")]
Sets = Annotated[Optional[list[str]], typer.Option(
    "--set", "-s", metavar="PATH=VALUE", rich_help_panel=VALUES, show_default=False,
    help="set one value, e.g. values.global.meshID=mesh1 ('\\.' escapes a dot in a key); wins over files.")]
Revision = Annotated[Optional[str], typer.Option(
    "--revision", "-r", metavar="REV", rich_help_panel=VALUES, show_default=False,
    help="control-plane revision to install side by side (default: the unrevisioned one).")]
IstioVersion = Annotated[Optional[str], typer.Option(
    "--istio-version", metavar="VERSION", rich_help_panel=VALUES, show_default=False,
    help="Istio version to install, 1.28 to 1.31 (a minor like 1.30 picks its tested patch).")]
Hub = Annotated[Optional[str], typer.Option(
    "--hub", metavar="REGISTRY", rich_help_panel=VALUES, show_default=False,
    help="image registry (default: Istio's release registry for the version).")]
Tag = Annotated[Optional[str], typer.Option(
    "--tag", metavar="TAG", rich_help_panel=VALUES, show_default=False,
    help="image tag (default: the Istio version).")]
Artifacts = Annotated[Optional[str], typer.Option(
    "--artifacts", metavar="DIR|BUNDLE", rich_help_panel=UPSTREAM, show_default=False,
    help="read the upstream release files from a directory or a bundle made by 'meshctl artifacts pull' "
         "(air-gapped: the network is never used).")]
ArtifactSha256 = Annotated[Optional[list[str]], typer.Option(
    "--artifact-sha256", metavar="NAME=HEX", rich_help_panel=UPSTREAM, show_default=False,
    help="expect this SHA-256 for the release file NAME (e.g. base-1.30.3.tgz); repeatable.")]
Components = Annotated[Optional[list[str]], typer.Option(
    "--components", metavar="LIST", rich_help_panel=VALUES, show_default=False,
    help="only these components (comma-separated): base, pilot, cni, ztunnel, ingress, tag.")]
