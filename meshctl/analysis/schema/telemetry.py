"""telemetry.istio.io: Telemetry."""

from __future__ import annotations

from meshctl.analysis.schema.common import (
    POLICY_TARGETING,
    istio_annotation_rules,
    policy_selector_rule,
)
from meshctl.analysis.schema.core import (
    Bool,
    Duration,
    KindSchema,
    List,
    Map,
    Num,
    Obj,
    Str,
    Validation,
    as_dict,
    as_list,
    as_str,
    is_set,
)

WORKLOAD_MODE = Obj({"mode": Str(enum=("CLIENT_AND_SERVER", "CLIENT", "SERVER"))})
METRICS = ("ALL_METRICS", "REQUEST_COUNT", "REQUEST_DURATION", "REQUEST_SIZE", "RESPONSE_SIZE",
           "TCP_OPENED_CONNECTIONS", "TCP_CLOSED_CONNECTIONS", "TCP_SENT_BYTES", "TCP_RECEIVED_BYTES",
           "GRPC_REQUEST_MESSAGES", "GRPC_RESPONSE_MESSAGES")


def _providers_rule(providers: list, path: str, v: Validation) -> None:
    if any(not as_str(as_dict(p).get("name")) for p in providers):
        v.error(path, "every provider needs a name")


PROVIDERS = List(Obj({"name": Str()}), rules=(_providers_rule,))


def _custom_tag_rule(tag: dict, path: str, v: Validation) -> None:
    for kind, field in (("literal", "value"), ("header", "name"), ("environment", "name"), ("formatter", "value")):
        if is_set(tag, kind) and not as_str(as_dict(tag[kind]).get(field)):
            v.error(f"{path}.{kind}.{field}", f"the {kind} custom tag needs a {field}")


def _tag_name(name: str) -> str | None:
    return "custom tag names must not be empty" if name == "" else None


def _tracing_rule(tracing: dict, path: str, v: Validation) -> None:
    if len(as_list(tracing.get("providers"))) > 1:
        v.warn(f"{path}.providers", "only one tracing provider is supported")


TRACING = Obj({
    "match": WORKLOAD_MODE, "providers": PROVIDERS, "randomSamplingPercentage": Num(0, 100),
    "disableSpanReporting": Bool(),
    "customTags": Map(Obj({
        "literal": Obj({"value": Str()}), "environment": Obj({"name": Str(), "defaultValue": Str()}),
        "header": Obj({"name": Str(), "defaultValue": Str()}), "formatter": Obj({"value": Str()}),
    }, one_of=[("literal", "environment", "header", "formatter")], rules=(_custom_tag_rule,)), key=_tag_name),
    "useRequestIdForTraceSampling": Bool(), "enableIstioTags": Bool(), "disableContextPropagation": Bool(),
}, rules=(_tracing_rule,))


def _tag_override_rule(override: dict, path: str, v: Validation) -> None:
    operation = as_str(override.get("operation")) or "UPSERT"
    value = as_str(override.get("value"))
    if operation == "UPSERT" and not value:
        v.error(f"{path}.value", "operation UPSERT needs a value")
    elif operation == "REMOVE" and value:
        v.error(f"{path}.value", "operation REMOVE takes no value: remove it")


def _metrics_override_rule(override: dict, path: str, v: Validation) -> None:
    if "" in as_dict(override.get("tagOverrides")):
        v.warn(f"{path}.tagOverrides", "tag override names must not be empty")
    match = as_dict(override.get("match"))
    if match.get("customMetric") == "":
        v.error(f"{path}.match.customMetric", "must not be empty")


METRICS_OVERRIDE = Obj({
    "match": Obj({"metric": Str(enum=METRICS), "customMetric": Str(), "mode": Str(enum=("CLIENT_AND_SERVER", "CLIENT",
                                                                                        "SERVER"))},
                 one_of=[("metric", "customMetric")]),
    "disabled": Bool(),
    "tagOverrides": Map(Obj({"operation": Str(enum=("UPSERT", "REMOVE")), "value": Str()},
                            rules=(_tag_override_rule,))),
}, rules=(_metrics_override_rule,))


def _telemetry_rule(spec: dict, path: str, v: Validation) -> None:
    if len(as_list(spec.get("tracing"))) > 1:
        v.warn(f"{path}.tracing", "only one tracing entry is supported")


TELEMETRY = KindSchema(
    Obj({
        **POLICY_TARGETING,
        "tracing": List(TRACING),
        "metrics": List(Obj({"providers": PROVIDERS, "overrides": List(METRICS_OVERRIDE),
                             "reportingInterval": Duration()})),
        "accessLogging": List(Obj({"match": WORKLOAD_MODE, "providers": PROVIDERS, "disabled": Bool(),
                                   "filter": Obj({"expression": Str()})})),
    }, rules=(policy_selector_rule, _telemetry_rule)),
    object_rules=istio_annotation_rules(),
)
