"""webhook.*: Istio's sidecar-injection webhooks must not overlap and must point at a Service that exists."""

from __future__ import annotations

from meshctl.analysis.common import ISTIO_WEBHOOK_SUFFIX, label_selector_matches, mapping, string_list, webhook_entries
from meshctl.analysis.framework import Analyzer, Context, analyzer
from meshctl.kube import kinds as K
from meshctl.kube.state import Resource
from meshctl.mesh import labels as L


def is_istio_webhook(config: Resource) -> bool:
    return any(str(w.get("name", "")).endswith(ISTIO_WEBHOOK_SUFFIX) for w in webhook_entries(config))


def revisions_of(config: Resource) -> set[str]:
    """Revisions a webhook configuration is about: its istio.io/rev label and the revisions its selectors name."""
    revisions = set()
    if L.REV in config.labels:
        revisions.add(config.labels[L.REV])
    for hook in webhook_entries(config):
        for selector_field in ("namespaceSelector", "objectSelector"):
            selector = mapping(hook.get(selector_field))
            match_labels = mapping(selector.get("matchLabels"))
            if L.REV in match_labels:
                revisions.add(str(match_labels[L.REV]))
            for requirement in selector.get("matchExpressions") or []:
                if mapping(requirement).get("key") == L.REV:
                    revisions.update(string_list(requirement.get("values")))
    return revisions


def label_permutations(base: list[dict[str, str]], revisions: set[str]) -> list[dict[str, str]]:
    """The label sets worth trying: each base set, alone and with every revision label."""
    out = [dict(b) for b in base]
    for rev in sorted(revisions):
        out += [{**b, L.REV: rev} for b in base]
    return out


NAMESPACE_LABEL_BASES = [{}, {L.INJECTION: "enabled"}, {L.INJECTION: "disabled"}]
OBJECT_LABEL_BASES = [{}, {L.SIDECAR_INJECT: "true"}, {L.SIDECAR_INJECT: "false"}]


@analyzer
class WebhookAnalyzer(Analyzer):
    name = "webhook.Analyzer"
    description = "Checks that Istio's injection webhooks do not overlap and refer to existing Services"
    inputs = (K.MUTATING_WEBHOOK, K.SERVICE)
    codes = ("IST0139",)

    def analyze(self, ctx: Context) -> None:
        configs = [c for c in ctx.resources(K.MUTATING_WEBHOOK) if revisions_of(c) or is_istio_webhook(c)]
        if not configs:
            return
        self._report_overlaps(ctx, configs)
        self._report_missing_services(ctx, configs)

    def _report_overlaps(self, ctx: Context, configs: list[Resource]) -> None:
        revisions = set().union(*(revisions_of(c) for c in configs))
        hooks = [(c, f"{c.name}/{h.get('name', '')}", h) for c in configs for h in webhook_entries(c)]
        reported: set[tuple[str, tuple[str, ...]]] = set()
        # A pod is injected once only if every namespace/pod label combination matches at most one webhook.
        for ns_labels in label_permutations(NAMESPACE_LABEL_BASES, revisions):
            for pod_labels in label_permutations(OBJECT_LABEL_BASES, revisions):
                matched = [
                    (config, hook_id) for config, hook_id, hook in hooks
                    if label_selector_matches(hook.get("namespaceSelector"), ns_labels)
                    and label_selector_matches(hook.get("objectSelector"), pod_labels)
                ]
                if len(matched) < 2:
                    continue
                for config, hook_id in matched:
                    others = tuple(sorted(h for _, h in matched if h != hook_id))
                    if (hook_id, others) in reported:
                        continue
                    reported.add((hook_id, others))
                    ctx.report("IST0139", config,
                               f"webhook {hook_id} overlaps with [{', '.join(others)}]; "
                               "pods it selects may be injected twice.")

    def _report_missing_services(self, ctx: Context, configs: list[Resource]) -> None:
        if not ctx.has(K.SERVICE):
            return
        for config in configs:
            for hook in webhook_entries(config):
                service = mapping(hook.get("clientConfig")).get("service")
                if not isinstance(service, dict):
                    continue  # a URL webhook: nothing in the cluster to look up
                ns, name = service.get("namespace") or "", service.get("name") or ""
                if ctx.get(K.SERVICE, ns, name) is None:
                    ctx.report("IST0139", config,
                               f"webhook {hook.get('name', '')} calls Service {ns}/{name}, which does not exist.")
