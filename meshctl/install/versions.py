"""Version facts, in one place: which Istio versions meshctl installs and what each one pairs with.

Sources: ISTIO-FACTS.md "Versions" and WORKLOADS.md §7 (Istio's release notes, go.mod files and
``MinK8SVersion``). A minor version alone (``1.30``) means the patch release pinned here, so a given
meshctl always installs the same bits for the same flags.
"""

from __future__ import annotations

import re

from meshctl.errors import UsageError

# The patch release meshctl installs for each supported minor. 1.30.3 is the release WORKLOADS.md
# was written against (templates match it); the others are the newest patches published at the time.
PINNED_PATCHES = {"1.28": "1.28.10", "1.29": "1.29.8", "1.30": "1.30.3", "1.31": "1.31.1"}
SUPPORTED_MINORS = ("1.28", "1.29", "1.30", "1.31")
DEFAULT_ISTIO_VERSION = "1.30.3"

# The Gateway API release each Istio minor is built and tested against (the bundle meshctl installs).
GATEWAY_API_VERSIONS = {"1.28": "v1.4.0", "1.29": "v1.4.0", "1.30": "v1.5.1", "1.31": "v1.6.0"}
INFERENCE_EXTENSION_VERSION = "v1.6.0"

# Released images moved to registry.istio.io with 1.30 (1.30 release notes; release-builder DOCKER_HUB).
OLD_HUB = "docker.io/istio"
NEW_HUB = "registry.istio.io/release"
NEW_HUB_SINCE = (1, 30)

# Istio's MinK8SVersion per minor; 1.28.0 and 1.28.1 still accepted Kubernetes 1.29.
MIN_KUBERNETES = {"1.28": (1, 30), "1.29": (1, 30), "1.30": (1, 32), "1.31": (1, 32)}
EARLY_1_28_MIN_KUBERNETES = (1, 29)

VERSION_RE = re.compile(r"v?(\d+)\.(\d+)(?:\.(\d+)(-[0-9A-Za-z.-]+)?)?")
RELEASE_TAG_RE = re.compile(r"v?(\d+)\.(\d+)\.(\d+)(-[0-9A-Za-z.-]+)?")


def _supported_hint() -> str:
    pins = ", ".join(f"{minor} (= {PINNED_PATCHES[minor]})" for minor in SUPPORTED_MINORS)
    return f"supported Istio versions: {pins}, or any patch of them, e.g. --istio-version {DEFAULT_ISTIO_VERSION}"


def resolve_istio_version(text: str) -> str:
    """``1.30`` -> the pinned patch of 1.30; ``1.30.3`` (or ``1.31.0-rc.1``) unchanged.

    Versions outside the supported minors, and text that is not a version, are usage errors.
    """
    match = VERSION_RE.fullmatch(text.strip())
    if match is None:
        raise UsageError(f"Istio version {text!r} is not a version like 1.30 or 1.30.3", hint=_supported_hint())
    major, minor, patch, suffix = match.groups()
    minor_text = f"{int(major)}.{int(minor)}"
    if minor_text not in SUPPORTED_MINORS:
        raise UsageError(f"Istio version {text.strip()} is not supported by meshctl", hint=_supported_hint())
    if patch is None:
        return PINNED_PATCHES[minor_text]
    return f"{minor_text}.{int(patch)}{suffix or ''}"


def _parts(istio_version: str) -> tuple[str, int]:
    """(minor, patch) of a supported version; the pinned patch when only a minor is given."""
    version = resolve_istio_version(istio_version)
    major, minor, patch, _ = VERSION_RE.fullmatch(version).groups()  # type: ignore[union-attr]
    return f"{major}.{minor}", int(patch)


def minor_of(istio_version: str) -> str:
    return _parts(istio_version)[0]


def gateway_api_version(istio_version: str) -> str:
    """The Gateway API release (``v1.5.1``) that goes with this Istio version."""
    return GATEWAY_API_VERSIONS[minor_of(istio_version)]


def default_hub(istio_version: str) -> str:
    """Where the released images of this Istio version live."""
    major, minor = (int(n) for n in minor_of(istio_version).split("."))
    return NEW_HUB if (major, minor) >= NEW_HUB_SINCE else OLD_HUB


def min_kubernetes(istio_version: str) -> tuple[int, int]:
    """The oldest Kubernetes (major, minor) this Istio version supports."""
    minor, patch = _parts(istio_version)
    if minor == "1.28" and patch < 2:
        return EARLY_1_28_MIN_KUBERNETES
    return MIN_KUBERNETES[minor]


def release_tag(text: str, flag: str) -> str:
    """A Gateway API or Inference Extension release as tagged on GitHub: ``1.5.1`` -> ``v1.5.1``."""
    match = RELEASE_TAG_RE.fullmatch(text.strip())
    if match is None:
        raise UsageError(f"{flag} {text!r} is not a release version like v1.5.1",
                         hint=f"use the release tag, e.g. {flag} v1.5.1")
    major, minor, patch, suffix = match.groups()
    return f"v{int(major)}.{int(minor)}.{int(patch)}{suffix or ''}"
