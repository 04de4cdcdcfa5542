"""Open the one source a read command was given: live cluster(s), files, or a snapshot."""

from __future__ import annotations

from dataclasses import dataclass, field

from meshctl.errors import UsageError
from meshctl.kube.state import ClusterState


@dataclass(frozen=True)
class SourceOptions:
    """What the user asked to read from (the leaf commands' source flags)."""

    files: list[str] = field(default_factory=list)
    snapshot: str | None = None
    contexts: list[str] = field(default_factory=list)
    kubeconfig: str | None = None
    recursive: bool = True
    namespace: str | None = None  # default namespace for file objects that name none

    @property
    def offline(self) -> bool:
        return bool(self.files or self.snapshot)


def open_states(opts: SourceOptions, *, multi: bool = True) -> list[ClusterState]:
    """The ClusterStates a command reads. Offline sources never construct a Kubernetes client."""
    if opts.files and opts.snapshot:
        raise UsageError(
            "-f/--filename and --snapshot are two sources; a command reads exactly one",
            hint="drop one of them",
        )
    if not multi and len(opts.contexts) > 1:
        raise UsageError("this command reads one cluster; --context was given more than once",
                         hint="pass a single --context")
    if opts.files:
        if opts.contexts:
            raise UsageError("--context does not apply to -f/--filename input",
                             hint="drop --context, or drop -f to read the live cluster")
        from meshctl.kube.files import load_files

        return [load_files(opts.files, recursive=opts.recursive, default_namespace=opts.namespace or "default")]
    if opts.snapshot:
        from meshctl.kube.snapshot import load_snapshot

        return list(load_snapshot(opts.snapshot).select(opts.contexts))
    from meshctl.kube.live import open_live

    return list(open_live(opts.contexts, opts.kubeconfig))
