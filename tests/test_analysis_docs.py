"""docs/analyzers.md is generated from the registry and must be current."""

from meshctl.analysis.docs import render_analyzers_doc
from meshctl.analysis.framework import all_analyzers
from tests.conftest import ROOT


def test_analyzers_doc_is_current():
    committed = (ROOT / "docs" / "analyzers.md").read_text()
    assert committed == render_analyzers_doc() + "\n", "regenerate: python -m meshctl.analysis.docs > docs/analyzers.md"


def test_every_analyzer_is_documented_with_its_codes():
    doc = render_analyzers_doc()
    for a in all_analyzers():
        assert f"`{a.name}`" in doc
        for code in a.codes:
            assert f"### {code}" in doc


def test_every_emitted_code_has_a_fix():
    from meshctl.analysis.fixes import FIXES

    for a in all_analyzers():
        for code in a.codes:
            assert FIXES.get(code), code
