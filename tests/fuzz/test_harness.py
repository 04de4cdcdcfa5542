"""The fuzz oracle itself: each check fires when it should (else the fuzz tests could pass vacuously)."""

from __future__ import annotations

from tests.fuzz import gen
from tests.fuzz.gen import Case

NAMESPACE = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}


def manifest_case(*commands: list[str], secrets: list[str] | None = None, objs: list[dict] | None = None) -> Case:
    return Case("manifest-file", list(commands), {"in/m.yaml": gen.dump(objs or [NAMESPACE])}, secrets=secrets or [])


def test_a_clean_run_passes(fuzz):
    [o] = fuzz.run_all(manifest_case(["namespace", "list", "-f", "in/m.yaml", "-A"]))
    assert o.ok, o.problems
    assert o.code == 0 and "shop" in o.out


def test_a_printed_secret_is_caught_even_in_part(fuzz):
    secret = "s3cr3t" + "ab" * 16
    objs = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": secret[:20]}}]
    [o] = fuzz.run_all(manifest_case(["namespace", "list", "-f", "in/m.yaml", "-A"], secrets=[secret], objs=objs))
    assert any(p.startswith("secret printed") and "partial" in p for p in o.problems), o.problems


def test_a_write_outside_the_target_is_caught(fuzz):
    [o] = fuzz.run_all(manifest_case(["snapshot", "save", "in/elsewhere", "-f", "in/m.yaml"]))
    assert any(p.startswith("wrote outside target") and "in/elsewhere" in p for p in o.problems), o.problems


def test_a_write_to_the_target_is_fine(fuzz):
    [o] = fuzz.run_all(manifest_case(["snapshot", "save", "out/snap", "-f", "in/m.yaml"]))
    assert o.ok, o.problems


def test_an_internal_error_is_traced_to_its_site(fuzz, monkeypatch):
    from meshctl.kube import files

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(files, "load_files", broken)
    [o] = fuzz.run_all(manifest_case(["status", "-f", "in/m.yaml"]))
    assert any(p.startswith("internal error") for p in o.problems), o.problems
    assert o.site and o.site.startswith("RuntimeError at "), o.site


def test_a_hang_is_cut_short(fuzz, monkeypatch):
    import time

    from meshctl.kube import files

    monkeypatch.setattr(files, "load_files", lambda *args, **kwargs: time.sleep(30))
    case = manifest_case(["status", "-f", "in/m.yaml"])
    case.timeout = 0.5
    [o] = fuzz.run_all(case)
    assert any(p.startswith("hang") for p in o.problems), o.problems
    assert o.seconds < 5
