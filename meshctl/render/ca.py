"""``meshctl ca``: what generate wrote, the Secret install would apply (redacted), and each cluster's CA."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any

from meshctl.render.checks import ASCII_MARKS, MARKS, can_encode
from meshctl.render.tables import render_table

if TYPE_CHECKING:  # the model lives beside cryptography; importing it only for types keeps this light
    from meshctl.install.ca import CertInfo, Finding, Generated, InstallPlan, TrustInfo


def _date(when: dt.datetime) -> str:
    return when.astimezone(dt.timezone.utc).strftime("%Y-%m-%d")


def _cert_lines(cert: CertInfo) -> list[str]:
    return [f"  subject   {cert.subject}",
            f"  issuer    {cert.issuer}",
            f"  key       {cert.key}",
            f"  expires   {_date(cert.not_after)}",
            f"  sha256    {cert.fingerprint}"]


def render_generated(g: Generated) -> str:
    """Paths and fingerprints of what generate wrote or kept; never key material."""
    lines = [f"root CA ({g.root_action}): {g.root_path / 'root-cert.pem'}, {g.root_path / 'root-key.pem'}"]
    lines += _cert_lines(g.root)
    for c in g.clusters:
        lines.append(f"cluster {c.name} ({c.action}): {c.directory}/ "
                     "(ca-cert.pem, ca-key.pem, cert-chain.pem, root-cert.pem)")
        lines += _cert_lines(c.cert)
    return "\n".join(lines)


def render_secret(secret: dict[str, Any]) -> str:
    """The (already redacted) Secret as YAML."""
    from meshctl.kube.yamlio import dump

    return "---\n" + dump(secret).rstrip("\n")


def render_installed(plan: InstallPlan, context: str, dry_run: bool) -> str:
    """``secret/cacerts created`` in kubectl's words, with where and which root."""
    words = {"create": "created", "update": "configured", "replace": "replaced", "unchanged": "unchanged"}
    outcome = words[plan.action]
    if dry_run and plan.action != "unchanged":
        outcome = f"would be {outcome} (dry run)"
    lines = []
    if plan.create_namespace:
        lines.append(f"namespace/{plan.namespace} {'would be created (dry run)' if dry_run else 'created'}")
    lines.append(f"secret/cacerts {outcome} (namespace {plan.namespace}, context {context}, "
                 f"root {plan.new_root})")
    if plan.drop_keys:
        lines.append(f"  {'would remove' if dry_run else 'removed'} {', '.join(plan.drop_keys)} "
                     "(they belonged to the old root)")
    return "\n".join(lines)


def install_question(plan: InstallPlan, context: str, restart: bool) -> str:
    secret = f"Secret {plan.namespace}/cacerts in context {context}"
    if not plan.changes:
        return f"Restart istiod in namespace {plan.namespace} (context {context})?"
    verb = {"create": "Create", "update": "Update", "replace": "Replace"}[plan.action]
    return f"{verb} {secret}" + (" and restart istiod?" if restart else "?")


def trust_data(infos: Sequence[TrustInfo], findings: Sequence[Finding], now: dt.datetime) -> dict[str, Any]:
    return {"clusters": [t.to_dict(now) for t in infos], "findings": [f.to_dict() for f in findings]}


def render_trust(infos: Sequence[TrustInfo], findings: Sequence[Finding], now: dt.datetime, *,
                 stream: IO[str] | None = None) -> str:
    """One row per cluster, then each finding with its hint (or one line saying all is well)."""
    rows = []
    for t in infos:
        signing = t.signing
        rows.append([t.cluster, t.source,
                     signing.issuer_common_name if signing else "-",
                     _date(signing.not_after) if signing else "-",
                     signing.days_left(now) if signing else "-",
                     t.root_fingerprint or "-"])
    table = render_table(["CLUSTER", "SOURCE", "ISSUER", "EXPIRES", "DAYS LEFT", "ROOT SHA-256"], rows)
    marks = MARKS if can_encode(stream or sys.stdout, "".join(MARKS.values())) else ASCII_MARKS
    lines = [table, ""]
    if not findings:
        shared = "every cluster has the same root; " if len(infos) > 1 else ""
        lines.append(f"{marks['ok']} {shared}no problems found")
    for f in findings:
        where = f"{f.cluster}: " if f.cluster else ""
        lines.append(f"{marks[f.level]} {where}{f.message}")
        lines.append(f"    hint: {f.hint}")
    return "\n".join(lines)
