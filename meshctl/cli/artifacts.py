"""``meshctl artifacts pull|list``."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from meshctl.cli import install_options as io
from meshctl.cli import options as opt
from meshctl.install.versions import DEFAULT_ISTIO_VERSION

app = opt.command_app(
    help="Download, cache and bundle the upstream release files an install reads (CRDs, injection templates).\n\n"
         "Files are cached under $MESHCTL_CACHE_DIR (default $XDG_CACHE_HOME/meshctl or ~/.cache/meshctl) and "
         "verified against the checksum recorded on first download or given with --artifact-sha256. "
         "MESHCTL_ARTIFACT_MIRROR=URL downloads them by name from a mirror instead.",
    no_args_is_help=True,
)

IstioVersion = Annotated[
    str,
    typer.Option("--istio-version", metavar="VERSION", help="Istio version: 1.28-1.31, a minor or an exact patch."),
]


@app.command("pull")
def pull(
    output: Annotated[str, typer.Option("--output", "-o", metavar="FILE", help="the bundle to write (.tgz).")],
    istio_version: IstioVersion = DEFAULT_ISTIO_VERSION,
    gateway_api_version: Annotated[Optional[str], typer.Option(
        "--gateway-api-version", metavar="VERSION",
        help="Gateway API release (default: the one this Istio version pairs with).", show_default=False)] = None,
    inference_version: Annotated[Optional[str], typer.Option(
        "--inference-version", metavar="VERSION",
        help="Inference Extension release (default: v1.6.0).", show_default=False)] = None,
    sha256: io.ArtifactSha256 = None,
    source: io.Artifacts = None,
) -> None:
    """Write one bundle with every upstream release file an install of an Istio version needs.

    The bundle (.tgz) holds base-V.tgz, istiod-V.tgz, the Gateway API standard-install.yaml and the
    Inference Extension manifests.yaml, named as their release assets, plus SHA256SUMS. Files in the cache
    are verified and reused; the others are downloaded (or all are read from --artifacts, to re-pack a
    directory). Install commands read the bundle with --artifacts.
    """
    from pathlib import Path

    from meshctl.cli.common import emit
    from meshctl.cli.installing import open_artifacts
    from meshctl.render.console import print_err, warn

    artifacts = open_artifacts(source, sha256)
    names = {a.name for a in artifacts.bundle_assets(istio_version, gateway_api_version, inference_version)}
    for name in sorted(set(artifacts.pins) - names):
        warn(f"--artifact-sha256 {name}: no file of this bundle has that name")
    bundle = artifacts.pull(istio_version, Path(output), gateway_api_version=gateway_api_version,
                            inference_version=inference_version,
                            progress=lambda name, digest: print_err(f"{name}  sha256:{digest}"))
    emit(str(bundle))


@app.command("list")
def list_cached(output: opt.DataOutput = None) -> None:
    """List the release files in the cache: asset name, URL, size and SHA-256."""
    from meshctl.cli.common import check_choice, emit
    from meshctl.install.artifacts import Artifacts
    from meshctl.render.console import print_err

    check_choice("--output", output, ("json", "yaml"))
    artifacts = Artifacts()
    cached = artifacts.cached()
    if output:
        from meshctl.render.formats import render_data

        emit(render_data([c.to_dict() for c in cached], output))
        return
    if not cached:
        print_err(f"No release files cached in {artifacts.store}.")
        return
    from meshctl.render.tables import render_table

    rows = [(c.asset, c.url, c.size if c.present else "missing", c.sha256) for c in cached]
    emit(render_table(("ASSET", "URL", "SIZE", "SHA256"), rows))
    print_err(f"Cache: {artifacts.store}")
