"""`meshctl manifest generate` for each built-in profile and a revision, against golden files (made with
the small stand-in release files from conftest, so they hold meshctl's own templates' output)."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("name, args", [
    ("ambient", []),
    ("minimal", ["--profile", "minimal"]),
    ("ambient-ingress", ["--profile", "ambient-ingress"]),
    ("ambient-canary", ["--revision", "canary"]),
])
def test_manifest_generate_golden(cli, golden, release_files, name, args):
    result = cli("manifest", "generate", "--artifacts", str(release_files), *args)
    assert result.code == 0, result.err
    golden(f"manifest-{name}.yaml", result.out)


def test_manifest_generate_is_deterministic(cli, release_files):
    first = cli("manifest", "generate", "--artifacts", str(release_files))
    second = cli("manifest", "generate", "--artifacts", str(release_files))
    assert first.out == second.out and first.out.count("\nkind: ") > 30
