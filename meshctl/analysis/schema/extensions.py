"""extensions.istio.io: WasmPlugin."""

from __future__ import annotations

import re

from meshctl.analysis.schema.common import (
    INT32,
    POLICY_TARGETING,
    istio_annotation_rules,
    policy_selector_rule,
)
from meshctl.analysis.schema.core import (
    Any_,
    Int,
    KindSchema,
    List,
    Obj,
    Str,
    Validation,
    as_dict,
    as_list,
    as_str,
)

URL_SCHEMES = frozenset({"", "file", "http", "https", "oci"})
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_BAD_URL_CHARS = re.compile(r"[\s\x00-\x1f\x7f]")


def _url_problem(url: str) -> str | None:
    """A plugin URL: ``oci://``, ``https://``, ``http://``, ``file://`` or a bare image reference."""
    if not url:
        return "url must not be empty"
    if _BAD_URL_CHARS.search(url):
        return f"url {url!r} contains spaces or control characters"
    scheme = _SCHEME.match(url)
    if scheme and scheme.group(1).lower() not in URL_SCHEMES:
        return f"url scheme {scheme.group(1)} is not supported: use oci, https, http or file"
    return None


def _wasm_plugin_rule(spec: dict, path: str, v: Validation) -> None:
    url = spec.get("url")
    if isinstance(url, str):
        problem = _url_problem(url)
        if problem:
            v.error(f"{path}.url", problem)
    names: set[str] = set()
    for i, env in enumerate(as_list(as_dict(spec.get("vmConfig")).get("env"))):
        env = as_dict(env)
        name = as_str(env.get("name"))
        at = f"{path}.vmConfig.env[{i}]"
        if not name:
            continue  # missing: reported as required
        if name in names:
            v.error(f"{at}.name", f"env {name} is defined more than once")
        names.add(name)
        if as_str(env.get("valueFrom")) == "HOST" and as_str(env.get("value")):
            v.error(f"{at}.value", "valueFrom HOST reads the value from the host: remove value")


ENV = Obj({"name": Str(min_len=1, max_len=256), "valueFrom": Str(enum=("INLINE", "HOST")), "value": Str(max_len=2048)},
          required=("name",))

WASM_PLUGIN = KindSchema(
    Obj({
        **POLICY_TARGETING,
        "url": Str(), "sha256": Str(pattern=r"^$|^[a-f0-9]{64}$", hint="64 lower-case hexadecimal digits"),
        "imagePullPolicy": Str(enum=("UNSPECIFIED_POLICY", "IfNotPresent", "Always")),
        "imagePullSecret": Str(min_len=1, max_len=253), "pluginConfig": Any_(dict),
        "pluginName": Str(min_len=1, max_len=256), "phase": Str(enum=("UNSPECIFIED_PHASE", "AUTHN", "AUTHZ", "STATS")),
        "priority": INT32, "vmConfig": Obj({"env": List(ENV, max_items=256)}),
        "match": List(Obj({"mode": Str(enum=("UNDEFINED", "CLIENT", "SERVER", "CLIENT_AND_SERVER")),
                           "ports": List(Obj({"number": Int(1, 65535)}, required=("number",)))})),
        "verificationKey": Str(), "failStrategy": Str(enum=("FAIL_CLOSE", "FAIL_OPEN", "FAIL_RELOAD")),
        "type": Str(enum=("UNSPECIFIED_PLUGIN_TYPE", "HTTP", "NETWORK")),
    }, required=("url",), rules=(policy_selector_rule, _wasm_plugin_rule)),
    spec_required=True,
    object_rules=istio_annotation_rules(),
)
