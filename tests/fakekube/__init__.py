"""fakekube: a fake Kubernetes API server for tests, spoken to over real HTTP.

The real ``kubernetes`` Python client and real ``kubectl`` work against it, so code under test
runs its live path unchanged::

    from tests.fakekube import FakeKube, write_kubeconfig

    with FakeKube(name="cluster1", controllers=True) as kube:     # 127.0.0.1:<free port>
        kube.add({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "default"}})
        kube.write_kubeconfig(tmp_path / "kc.yaml")
        kube.faults.add(status=429, times=1, method="GET", path=r"/configmaps$")
        kube.deny(verb="list", resource="secrets")
        ...

Modules: ``cluster`` (``FakeKube``, kubeconfigs), ``server`` (HTTP), ``api`` (routing and
verbs), ``store`` (objects, resourceVersions, watch history), ``kinds`` (built-in kinds, CRD
registration), ``discovery`` and ``openapi`` (what clients read before they act), ``selectors``,
``patching`` (merge, JSON and strategic merge patch), ``apply`` (server-side apply), ``meta``
(names, generation), ``errors`` (Status bodies), ``controllers`` (simulated status writers),
``faults`` (injected failures, token and deny rules), ``tables`` (kubectl's Table view),
``snapshot`` (meshctl snapshot loading), ``pyclient`` (helpers for tests using the official
client; the only module importing it). See README.md for what is approximated.
Run standalone with ``python -m tests.fakekube --help``.
"""

from .cluster import FakeKube, kubeconfig, write_kubeconfig
from .controllers import ALL as CONTROLLERS
from .errors import ApiError
from .faults import Denial, Fault, Faults
from .server import RequestRecord
from .snapshot import SeedReport, seed_from_snapshot

__all__ = [
    "CONTROLLERS",
    "ApiError",
    "Denial",
    "FakeKube",
    "Fault",
    "Faults",
    "RequestRecord",
    "SeedReport",
    "kubeconfig",
    "seed_from_snapshot",
    "write_kubeconfig",
]
