"""schema.ValidationAnalyzer.<Kind>: schema and semantic validation of each Istio (and Gateway API) object.

One analyzer per validated kind, named as Istio names them. Each reports what the validation finds:
IST0106 for errors (the text starts with the field path), IST0133 for warnings, and for
VirtualServices IST0130 (a rule that can never match) and IST0131 (a match an earlier one shadows).
"""

from __future__ import annotations

from meshctl.analysis.framework import Analyzer, Context, analyzer
from meshctl.analysis.schema import (
    ERROR,
    INEFFECTIVE,
    SCHEMAS,
    UNREACHABLE,
    WARNING,
    ValidatedKind,
    validate_object,
)
from meshctl.kube import kinds as K

CODE_OF = {ERROR: "IST0106", WARNING: "IST0133", UNREACHABLE: "IST0130", INEFFECTIVE: "IST0131"}


class ValidationAnalyzer(Analyzer):
    """Validates every object of one kind; subclasses (one per kind) set ``validated``."""

    validated: ValidatedKind

    def analyze(self, ctx: Context) -> None:
        schema = self.validated.schema
        for resource in ctx.resources(self.validated.kind):
            for finding in validate_object(schema, resource.raw):
                # IST0130/IST0131 take the rule and match names; IST0106/IST0133 the text with its path
                args = finding.args or (str(finding),)
                ctx.report(CODE_OF[finding.level], resource, *args, field_path=finding.path or None)


def _description(validated: ValidatedKind) -> str:
    kind = validated.kind
    if kind.group == K.GATEWAY_API:
        return f"Validates {kind.qualified_kind} objects against the Gateway API CRD schema and its CEL rules"
    return f"Validates {kind.qualified_kind} objects as Istio's validation webhook does"


def _register(validated: ValidatedKind) -> type[Analyzer]:
    codes = (CODE_OF[ERROR], CODE_OF[WARNING])
    if validated.kind == K.VIRTUAL_SERVICE:
        codes += (CODE_OF[UNREACHABLE], CODE_OF[INEFFECTIVE])
    cls = type(f"{validated.name}ValidationAnalyzer", (ValidationAnalyzer,), {
        "name": validated.analyzer_name,
        "description": _description(validated),
        "inputs": (validated.kind,),
        "codes": codes,
        "validated": validated,
        "__module__": __name__,
    })
    return analyzer(cls)


VALIDATION_ANALYZERS = tuple(_register(v) for v in SCHEMAS)
