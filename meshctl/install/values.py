"""Install values: profiles, ``-f`` files, ``--set`` and flags merged into one validated tree.

The layout is istioctl's IstioOperator spec (``profile``, ``hub``, ``tag``, ``revision``, ``namespace``,
``components``, ``meshConfig``, ``values``) plus meshctl's ``features`` switches, so istioctl users'
files work unchanged. Precedence, lowest first: meshctl's defaults < the named profile < a profile file
< the values an earlier install stored (``base``) < ``-f`` files left to right < ``--set`` < the flags.
The schema (meshctl.install.schema) rejects unknown keys and wrong types, naming the file and the
closest known key.
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from meshctl.errors import InputError, MeshctlError, UsageError
from meshctl.install import schema as S
from meshctl.kube.yamlio import MAX_INT_DIGITS
from meshctl.mesh import labels as L

log = logging.getLogger(__name__)

DEFAULT_PROFILE = "ambient"
BASE_PROFILE = "default"  # the bare defaults every profile starts from
ISTIO_OPERATOR_API = "install.istio.io/v1alpha1"
STORED = "the values stored by the previous install"
DEFAULT_GATEWAY_NAMESPACE = "istio-ingress"

# Feature switch -> istiod environment variable it turns on.
FEATURE_ENV = {
    "multiNetwork": L.MULTI_NETWORK_ENV,
    "inferenceExtension": L.INFERENCE_ENV,
    "agentgateway": L.AGENTGATEWAY_ENV,
}

# Component names as render.py and the installer use them.
BASE, PILOT, CNI, ZTUNNEL, INGRESS = "Base", "Pilot", "Cni", "Ztunnel", "IngressGateways"
COMPONENT_KEYS = {"base": BASE, "pilot": PILOT, "cni": CNI, "ztunnel": ZTUNNEL}

# Istio's platform profiles (manifests/helm-profiles/platform-*.yaml): where the node keeps CNI files.
# Applied for values.global.platform unless the user set the directory.
PLATFORM_CNI = {
    "k3d": {"cniConfDir": "/var/lib/rancher/k3s/agent/etc/cni/net.d", "cniBinDir": "/bin"},
    "k3s": {"cniConfDir": "/var/lib/rancher/k3s/agent/etc/cni/net.d",
            "cniBinDir": "/var/lib/rancher/k3s/data/current/bin/"},
    "microk8s": {"cniConfDir": "/var/snap/microk8s/current/args/cni-network",
                 "cniBinDir": "/var/snap/microk8s/current/opt/cni/bin"},
    "minikube": {"cniNetnsDir": "/var/run/docker/netns"},
    "gke": {"cniBinDir": "/home/kubernetes/bin"},
}
UNSUPPORTED_PLATFORMS = ("openshift",)

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
RELEASE = re.compile(r"^\d+\.\d+\.\d+$")
INDEX = re.compile(r"^(.*?)((?:\[\d+\])+)$")


@dataclass(frozen=True)
class InstallSpec:
    """Everything a render needs, resolved.

    ``values`` is the whole merged tree (profile, hub, tag, revision, namespace, features, components,
    meshConfig, values) with hub, tag, revision and namespace filled in; ``user_values`` is what the
    user gave (profile name, profile file, -f, --set, flags) before any defaults, which the installer
    stores in the cluster so an upgrade keeps it.
    """

    profile: str
    revision: str  # "" = the default revision
    istio_version: str
    hub: str
    tag: str
    namespace: str
    components: frozenset[str]
    values: dict
    user_values: dict

    @property
    def chart(self) -> dict:
        """The Istio chart values (``values.*``)."""
        return self.values["values"]

    @property
    def mesh_config(self) -> dict:
        return self.values.get("meshConfig") or {}

    @property
    def ingress_gateways(self) -> list[dict]:
        """Enabled ingress gateways, each with name and namespace."""
        return enabled_gateways(self.values)

    @property
    def minor(self) -> tuple[int, int]:
        major, minor = self.istio_version.split(".")[:2]
        return int(major), int(minor)


def enabled_gateways(tree: Mapping[str, Any]) -> list[dict]:
    """The enabled entries of components.ingressGateways as {name, namespace}; unnamed ones are skipped."""
    found = []
    for gw in (tree.get("components") or {}).get("ingressGateways") or []:
        if gw.get("enabled", True) and gw.get("name"):
            found.append({"name": gw["name"], "namespace": gw.get("namespace") or DEFAULT_GATEWAY_NAMESPACE})
    return found


# -- merging -------------------------------------------------------------------------------------------


def merge(base: Mapping[str, Any], overlay: Mapping[str, Any]) -> dict:
    """A new tree: maps merge key by key, anything else (lists included) replaces; None keeps the base."""
    out = copy.deepcopy(dict(base))
    for key, value in overlay.items():
        if value is None:
            continue
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


# -- --set ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SetValue:
    text: str  # the argument as given
    path: tuple[str | int, ...]
    raw: str  # the value text
    value: Any  # parsed like istioctl: true/false -> bool, integers -> int, else the text


def parse_set(text: str) -> SetValue:
    """``a.b\\.c[0].d=v`` -> path ("a", "b.c", 0, "d") and value v."""
    key, sep, raw = _split_unescaped(text, "=", maxsplit=1)
    if not sep or not key:
        raise UsageError(f"--set {text}: expected path=value", hint="e.g. --set values.global.meshID=mesh1")
    path: list[str | int] = []
    for segment in _split_unescaped(key, "."):
        if segment in ("", "."):
            raise UsageError(f"--set {text}: empty key in {key!r}", hint="write \\. for a dot inside a key")
        segment = segment.replace("\\.", ".")
        match = INDEX.match(segment)
        if match and match.group(1):
            path.append(match.group(1))
            path += [int(i) for i in re.findall(r"\[(\d+)\]", match.group(2))]
        elif "[" in segment or "]" in segment:
            raise UsageError(f"--set {text}: bad list index in {segment!r}", hint="write key[N], e.g. list[0]")
        else:
            path.append(segment)
    return SetValue(text, tuple(path), raw, _parse_scalar(raw))


def _split_unescaped(text: str, sep: str, maxsplit: int = -1) -> Any:
    """Split at ``sep`` not preceded by a backslash. With maxsplit=1: (head, sep or "", tail)."""
    parts, current, i, splits = [], "", 0, 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text) and text[i + 1] == ".":
            current += "\\."
            i += 2
            continue
        if ch == sep and (maxsplit < 0 or splits < maxsplit):
            parts.append(current)
            current = ""
            splits += 1
        else:
            current += ch
        i += 1
    parts.append(current)
    if maxsplit == 1:
        return (parts[0], sep, parts[1]) if len(parts) == 2 else (parts[0], "", "")
    return parts


def _parse_scalar(raw: str) -> Any:
    if raw in ("true", "false"):
        return raw == "true"
    if re.fullmatch(r"[-+]?\d+", raw) and len(raw) <= MAX_INT_DIGITS:  # longer ones stay text
        return int(raw)
    return raw


def _set_value_for(sv: SetValue) -> Any:
    """The value as the schema wants it: a string-typed key keeps the text as typed."""
    node = S.field_at(list(sv.path))
    if node is not None and node.type == S.STRING:
        return sv.raw
    if node is not None and node.type == S.NUMBER:
        try:
            return float(sv.raw) if not isinstance(sv.value, int) else sv.value
        except ValueError:
            return sv.value
    return sv.value


def apply_set(tree: dict, path: Sequence[str | int], value: Any, where: str) -> None:
    """Set ``path`` in ``tree`` in place, making maps on the way; a list index may append."""
    node: Any = tree
    for i, part in enumerate(path):
        last = i == len(path) - 1
        following = path[i + 1] if not last else None
        if isinstance(part, int):
            if not isinstance(node, list):
                raise UsageError(f"{where}: {S.format_path(list(path[:i]))} is not a list",
                                 hint="use [N] only on list keys")
            if part > len(node):
                raise UsageError(f"{where}: index {part} is past the end of {S.format_path(list(path[:i]))} "
                                 f"({len(node)} items)", hint=f"use an index up to {len(node)} (which appends)")
            if part == len(node):
                node.append([] if isinstance(following, int) else {})
            if last:
                node[part] = value
            else:
                if node[part] is None:
                    node[part] = [] if isinstance(following, int) else {}
                node = node[part]
        else:
            if not isinstance(node, dict):
                raise UsageError(f"{where}: {S.format_path(list(path[:i]))} is not a map",
                                 hint="check the path against docs/values.md")
            if last:
                node[part] = value
            else:
                if not isinstance(node.get(part), (dict, list)):
                    node[part] = [] if isinstance(following, int) else {}
                node = node[part]


def _get(tree: Any, path: Sequence[str | int]) -> Any:
    node = tree
    for part in path:
        if isinstance(part, int):
            if not isinstance(node, list) or part >= len(node):
                return None
        elif not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


# -- files ---------------------------------------------------------------------------------------------


def read_values_file(path: str | Path) -> tuple[str, dict]:
    """(name for messages, tree) of a values file: a plain tree or an IstioOperator resource."""
    from meshctl.kube.files import decode

    name = str(path)
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise UsageError(f"{name}: no such file", hint="check the path given to -f / --profile") from None
    except OSError as err:
        raise UsageError(f"{name}: cannot read ({err.strerror or err})", hint="check the file's permissions") from None
    data = S.load_yaml_text(decode(raw, name), name)
    return name, unwrap_istio_operator(data, name)


def unwrap_istio_operator(data: Any, name: str) -> dict:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError(f"{name}: expected a map of values, found {type(data).__name__}",
                         hint="a values file is a YAML map (or an IstioOperator resource)")
    if "kind" in data or "apiVersion" in data:
        if data.get("kind") != "IstioOperator" or not str(data.get("apiVersion", "")).startswith("install.istio.io/"):
            raise InputError(f"{name}: {data.get('kind') or 'a resource'} is not an IstioOperator",
                             hint=f"give a values tree or kind: IstioOperator, apiVersion: {ISTIO_OPERATOR_API}")
        spec = data.get("spec") or {}
        if not isinstance(spec, dict):
            raise InputError(f"{name}: IstioOperator spec must be a map", hint="check the file")
        return spec
    return data


def _checked(tree: Any, source: str, *, usage: bool) -> dict:
    """The tree validated against the schema; errors name the source (exit 65 for files, 2 for flags)."""
    try:
        return S.check(tree)
    except S.SchemaProblem as problem:
        message = f"{source}: {problem.message}"
        if problem.suggestion:
            message += f"; did you mean {problem.suggestion}?"
        error = UsageError if usage else InputError
        raise error(message, hint="docs/values.md lists every key, its type and default") from None


def _checked_leniently(tree: dict, source: str) -> dict:
    """Stored values from an older meshctl may hold keys this one dropped: leave those out, warn."""
    tree = copy.deepcopy(tree)
    for _ in range(100):
        try:
            return S.check(tree)
        except S.SchemaProblem as problem:
            log.warning("ignoring %s in %s: %s", problem.path, source, problem.message)
            if not _drop(tree, problem.path):
                return {}
    return {}


def _drop(tree: dict, path_text: str) -> bool:
    parts: list[str | int] = []
    for seg in path_text.split("."):
        match = INDEX.match(seg)
        if match and match.group(1):
            parts.append(match.group(1))
            parts += [int(i) for i in re.findall(r"\[(\d+)\]", match.group(2))]
        else:
            parts.append(seg)
    parent = _get(tree, parts[:-1]) if parts[:-1] else tree
    if isinstance(parent, dict) and parts[-1] in parent:
        del parent[parts[-1]]
        return True
    if isinstance(parent, list) and isinstance(parts[-1], int) and parts[-1] < len(parent):
        del parent[parts[-1]]
        return True
    return False


# -- profiles ------------------------------------------------------------------------------------------


def builtin_profile(name: str, _seen: tuple[str, ...] = ()) -> dict:
    """The full tree of a built-in profile: defaults, then the profiles it names, then itself."""
    if name == BASE_PROFILE:
        return copy.deepcopy(S.profile_tree(BASE_PROFILE))
    if name not in S.BUILTIN_PROFILES:
        raise UsageError(f"unknown profile {name!r}", hint=_profile_hint())
    own = dict(S.profile_tree(name))
    parent = own.pop("profile", BASE_PROFILE)
    if parent in _seen or parent == name:
        raise MeshctlError(f"profile {name} names itself as its base", hint="report this meshctl bug")
    tree = merge(builtin_profile(parent, (*_seen, name)), own)
    tree["profile"] = name
    return tree


def _profile_hint() -> str:
    return f"choose {', '.join(S.BUILTIN_PROFILES)}, or give a profile file (--profile FILE)"


def _looks_like_file(text: str) -> bool:
    return "/" in text or text.endswith((".yaml", ".yml", ".json")) or Path(text).is_file()


def _profile_value(value: Any, source: str, *, usage: bool) -> str:
    if value in (*S.BUILTIN_PROFILES, BASE_PROFILE):
        return value
    error = UsageError if usage else InputError
    raise error(f"{source}: profile {value!r} is not a built-in profile", hint=_profile_hint())


# -- resolve -------------------------------------------------------------------------------------------


def resolve(
    profile: str | None = DEFAULT_PROFILE,
    files: Iterable[str | Path | Mapping[str, Any]] = (),
    sets: Iterable[str] = (),
    *,
    overrides: Mapping[str, Any] | None = None,
    base: Mapping[str, Any] | None = None,
) -> InstallSpec:
    """Merge defaults, profile, stored values (``base``), files, ``--set`` and flags into an InstallSpec.

    ``profile``: a built-in profile name or a profile file; None keeps the stored profile (or ambient).
    ``files``: paths, or already-read trees. ``overrides``: the flags ``revision``, ``istio_version``,
    ``hub`` and ``tag``.
    """
    overrides = dict(overrides or {})
    layers, profile_name = _user_layers(profile, files, base)
    parsed_sets = [parse_set(text) for text in sets]
    for sv in parsed_sets:
        if sv.path == ("profile",):
            profile_name = _profile_value(sv.raw, f"--set {sv.text}", usage=True)

    tree = builtin_profile(profile_name)
    user: dict = {}
    for layer in layers:
        tree = merge(tree, layer)
        user = merge(user, layer)
    for sv in parsed_sets:
        if sv.path != ("profile",):
            tree = _apply_set_value(tree, user, sv)
    for key in ("revision", "hub", "tag"):
        if overrides.get(key) is not None:
            tree[key] = user[key] = str(overrides[key])
    if overrides.get("revision") is not None:  # the flag also beats a values.revision from a file
        tree["values"]["revision"] = tree["revision"]
        if "revision" in (user.get("values") or {}):
            user["values"]["revision"] = tree["revision"]
    tree["profile"] = user["profile"] = profile_name
    return _finish(_checked(tree, "the merged values", usage=True), user, overrides.get("istio_version"))


def _user_layers(profile: str | None, files: Iterable[str | Path | Mapping[str, Any]],
                 base: Mapping[str, Any] | None) -> tuple[list[dict], str]:
    """The validated user trees in precedence order (profile file, stored values, -f files) and the
    profile to start from: a file's ``profile:`` beats the argument, which beats the stored one."""
    layers: list[dict] = []
    chosen: str | None = None
    if profile is not None and profile not in (*S.BUILTIN_PROFILES, BASE_PROFILE):
        if not _looks_like_file(profile):
            raise UsageError(f"unknown profile {profile!r}", hint=_profile_hint())
        name, data = read_values_file(profile)
        tree = _checked(data, name, usage=False)
        profile = _profile_value(tree.pop("profile", BASE_PROFILE), name, usage=False)
        layers.append(tree)
    if base:
        stored = _checked_leniently(dict(base), STORED)
        stored_profile = stored.pop("profile", None)
        if profile is None and stored_profile in (*S.BUILTIN_PROFILES, BASE_PROFILE):
            profile = stored_profile
        layers.append(stored)
    for item in files:
        if isinstance(item, Mapping):
            name, data = "values", unwrap_istio_operator(dict(item), "values")
        else:
            name, data = read_values_file(item)
        tree = _checked(data, name, usage=False)
        if "profile" in tree:
            chosen = _profile_value(tree.pop("profile"), name, usage=False)
        layers.append(tree)
    return layers, chosen or profile or DEFAULT_PROFILE


def _apply_set_value(tree: dict, user: dict, sv: SetValue) -> dict:
    """One --set on the merged tree (list indexes address the merged lists) and on the user's tree."""
    where = f"--set {sv.text}"
    value = _set_value_for(sv)
    _check_set_path(sv, where)
    apply_set(tree, sv.path, value, where)
    # A path through a list records the whole list, so the index means the same when the stored
    # values are read again.
    list_at = next((i for i, part in enumerate(sv.path) if isinstance(part, int)), None)
    if list_at is None:
        apply_set(user, sv.path, value, where)
    else:
        apply_set(user, sv.path[:list_at], copy.deepcopy(_get(tree, sv.path[:list_at])), where)
    return _checked(tree, where, usage=True)


def _finish(tree: dict, user: dict, istio_version_flag: Any) -> InstallSpec:
    """Fill in what the values leave open (revision, namespace, version, hub, tag) and the switches."""
    from meshctl.install import versions

    revision = _revision(tree)
    namespace = _namespace(tree, user)
    istio_version = _istio_version(istio_version_flag, tree, versions)
    hub = tree.get("hub") or tree["values"]["global"].get("hub") or versions.default_hub(istio_version)
    tag = tree.get("tag") or tree["values"]["global"].get("tag") or istio_version
    tree["revision"] = tree["values"]["revision"] = revision
    tree["namespace"] = tree["values"]["global"]["istioNamespace"] = namespace
    tree["hub"] = tree["values"]["global"]["hub"] = hub
    tree["tag"] = tree["values"]["global"]["tag"] = tag
    _apply_features(tree, user)
    _apply_platform(tree, user)
    network = tree["values"]["global"].get("network") or ""
    if not LABEL_VALUE.match(network) or len(network) > 63:
        raise UsageError(f"values.global.network {network!r} cannot be a label value",
                         hint="use letters, digits, '-', '_' and '.', at most 63 characters")
    components = {name for key, name in COMPONENT_KEYS.items() if tree["components"][key].get("enabled")}
    if enabled_gateways(tree):
        components.add(INGRESS)
    return InstallSpec(tree["profile"], revision, istio_version, hub, tag, namespace, frozenset(components),
                       tree, user)


def _check_set_path(sv: SetValue, where: str) -> None:
    """An unknown key in --set is a usage error naming the closest known key."""
    parts = list(sv.path)
    for i in range(1, len(parts) + 1):
        node = S.field_at(parts[:i])
        if node is None:
            suggestion = S.suggest(parts[:i])
            message = f"{where}: unknown key {S.format_path(parts[:i])}"
            if suggestion:
                message += f"; did you mean {suggestion}?"
            raise UsageError(message, hint="docs/values.md lists every key, its type and default")
        if node.type in (S.ANY, S.OPEN):
            return


def _revision(tree: dict) -> str:
    revision = str(tree.get("revision") or tree["values"].get("revision") or "")
    if revision == "default":
        return ""
    if revision and (not DNS_LABEL.match(revision) or len(revision) > 63):
        raise UsageError(f"revision {revision!r} is not valid",
                         hint="use lower-case letters, digits and '-', e.g. canary or 1-30-3")
    return revision


def _namespace(tree: dict, user: dict) -> str:
    top = user.get("namespace")
    chart = (((user.get("values") or {}).get("global") or {}).get("istioNamespace"))
    if top and chart and top != chart:
        raise UsageError(f"namespace {top!r} and values.global.istioNamespace {chart!r} disagree",
                         hint="set only namespace (values.global.istioNamespace follows it)")
    namespace = top or chart or tree.get("namespace") or "istio-system"
    if not DNS_LABEL.match(namespace) or len(namespace) > 63:
        raise UsageError(f"namespace {namespace!r} is not a valid namespace name",
                         hint="use lower-case letters, digits and '-'")
    return namespace


def _istio_version(flag: Any, tree: dict, versions: Any) -> str:
    if flag:
        return versions.resolve_istio_version(str(flag))
    tag = tree.get("tag") or tree["values"]["global"].get("tag") or ""
    if RELEASE.match(tag):
        try:
            return versions.resolve_istio_version(tag)
        except UsageError:
            pass  # a tag of a version meshctl does not pin; images still use it
    return versions.DEFAULT_ISTIO_VERSION


def _apply_features(tree: dict, user: dict) -> None:
    """features.* switch istiod environment variables on, unless the user set the variable; every
    environment value becomes the text the container sees."""
    env = tree["values"]["pilot"].setdefault("env", {})
    user_env = ((user.get("values") or {}).get("pilot") or {}).get("env") or {}
    for feature, variable in FEATURE_ENV.items():
        if tree["features"].get(feature) and variable not in user_env:
            env[variable] = "true"
    for chart in ("pilot", "cni", "ztunnel"):
        section = tree["values"][chart]
        section["env"] = {k: env_text(v) for k, v in (section.get("env") or {}).items()}
    # Proxy metadata is a map of strings in Istio's MeshConfig; --set X=1 must not make it a number.
    metadata = ((tree.get("meshConfig") or {}).get("defaultConfig") or {}).get("proxyMetadata")
    if isinstance(metadata, dict):
        tree["meshConfig"]["defaultConfig"]["proxyMetadata"] = {k: env_text(v) for k, v in metadata.items()}


def env_text(value: Any) -> str:
    """An environment value as text: booleans lower-case, whole floats without '.0' (as Helm prints them)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _apply_platform(tree: dict, user: dict) -> None:
    platform = tree["values"]["global"].get("platform") or ""
    if platform in UNSUPPORTED_PLATFORMS:
        raise UsageError(f"values.global.platform {platform} is not supported by meshctl",
                         hint="OpenShift needs security context constraints meshctl does not render; use istioctl")
    user_cni = (user.get("values") or {}).get("cni") or {}
    for key, value in PLATFORM_CNI.get(platform, {}).items():
        if key not in user_cni:
            tree["values"]["cni"][key] = value


# Values that identify a cluster in its mesh: dropping one splits it from its peers.
IDENTITY_VALUES = (("values", "global", "meshID"), ("values", "global", "multiCluster", "clusterName"),
                   ("values", "global", "network"), ("meshConfig", "trustDomain"))


def _flat(tree: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(tree, dict) and tree:
        out: dict[str, Any] = {}
        for key, value in tree.items():
            out.update(_flat(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: tree} if prefix else {}


def _dig(tree: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        tree = tree.get(key) if isinstance(tree, dict) else None
    return tree


def _shown(value: Any) -> str:
    return "(unset)" if value in (None, "") else repr(value) if isinstance(value, str) else str(value)


def value_changes(before: InstallSpec, after: InstallSpec) -> list[str]:
    """The user values that differ between two installs, a line each: ``values.global.meshID: 'mesh1' → (unset)``."""
    old, new = _flat(before.user_values), _flat(after.user_values)
    lines = [f"{key}: {_shown(old.get(key))} → {_shown(new.get(key))}"
             for key in sorted(set(old) | set(new)) if old.get(key) != new.get(key) and key != "profile"]
    if before.profile != after.profile:
        lines.insert(0, f"profile: {before.profile} → {after.profile}")
    return lines


def dropped_identity(before: InstallSpec, after: InstallSpec) -> list[tuple[str, Any]]:
    """(dotted key, old value) of each mesh-identity value ``after`` no longer has. A value set anew is
    the user's intent and not listed; one that would silently vanish is."""
    return [(".".join(path), _dig(before.values, path)) for path in IDENTITY_VALUES
            if _dig(before.values, path) and not _dig(after.values, path)]
