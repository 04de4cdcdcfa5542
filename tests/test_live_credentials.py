"""Credentials reach the API server cleaned as client-go cleans them, and never reach a message; the HTTP
layer's own error texts (which quote headers) are never shown; exit codes hold under faults and debug."""

from __future__ import annotations

import pytest
import yaml

from meshctl.errors import ExitCode, InputError
from meshctl.kube.live import _reason, open_live
from tests.conftest import FIXTURE_SECRETS
from tests.fakekube import write_kubeconfig

TOKEN = "fixture-token-7f3a9c2e5b1d"
# Besides these tests' own asserts, the cli fixture fails any run whose output shows one of them.
FIXTURE_SECRETS.update({TOKEN, "fixture-passwd-line", "fixture-pass\u20ac-word", "fixture-secret-in-text"})


def kubeconfig_with(tmp_path, kube, user: dict, server: str | None = None):
    config = yaml.safe_load(open(write_kubeconfig(tmp_path / "kc.yaml", [kube])))
    config["users"][0]["user"] = user
    if server is not None:
        config["clusters"][0]["cluster"]["server"] = server
    path = tmp_path / "user.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


@pytest.fixture
def strict_kube(kube):
    kube.token = TOKEN
    kube.anonymous = False
    return kube


@pytest.mark.parametrize("token", [TOKEN + "\n", TOKEN + "\r\n", f"  {TOKEN}\t\n"])
def test_inline_token_is_trimmed_as_client_go_does(strict_kube, tmp_path, token):
    # The fake answers 401 to any other token, so an answer means exactly TOKEN was sent.
    state = open_live(None, kubeconfig_with(tmp_path, strict_kube, {"token": token}))[0]
    assert state.info.server_version == strict_kube.version["gitVersion"]


def test_token_file_written_by_echo_works(strict_kube, tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")  # what `echo "$T" > token` writes
    state = open_live(None, kubeconfig_with(tmp_path, strict_kube, {"tokenFile": str(token_file)}))[0]
    assert state.info.server_version == strict_kube.version["gitVersion"]


@pytest.mark.parametrize("content", [
    "root:x:0:0:root:/root:/bin/bash\nfixture-passwd-line:x:1:1::/:/bin/sh\n",  # tokenFile at any file
    f"{TOKEN}\x00tail",
    f"{TOKEN}\u20acmore",
])
def test_token_that_is_no_header_value_is_65_naming_the_context_never_the_value(strict_kube, tmp_path, cli,
                                                                                content):
    token_file = tmp_path / "token"
    token_file.write_text(content)
    kc = kubeconfig_with(tmp_path, strict_kube, {"tokenFile": str(token_file)})
    result = cli("status", "--kubeconfig", kc)
    assert result.code == ExitCode.DATA
    assert f"kubeconfig {kc}, context cluster1" in result.err
    assert "not a valid HTTP header value" in result.err
    for secret in ("fixture-passwd-line", TOKEN, TOKEN[:12], "root:x:0"):
        assert secret not in result.out + result.err
    assert "internal error" not in result.err and "Traceback" not in result.err


def test_inline_token_with_a_control_character_is_65(strict_kube, tmp_path):
    with pytest.raises(InputError) as info:
        open_live(None, kubeconfig_with(tmp_path, strict_kube, {"token": f"{TOKEN}\nX-Injected: 1"}))
    assert TOKEN[:12] not in info.value.message + (info.value.hint or "")
    assert "character 27 of 40" in info.value.message


def test_basic_auth_password_that_cannot_be_encoded_is_65_without_it(kube, tmp_path, cli):
    kc = kubeconfig_with(tmp_path, kube, {"username": "admin", "password": "fixture-pass\u20ac-word"})
    result = cli("status", "--kubeconfig", kc)
    assert result.code == ExitCode.DATA, result.err
    assert "fixture-pass" not in result.out + result.err and "internal error" not in result.err


def test_tls_to_a_plain_http_server_is_69_in_our_words(kube, tmp_path, cli):
    kc = kubeconfig_with(tmp_path, kube, {"token": TOKEN}, server=kube.url.replace("http://", "https://"))
    result = cli("status", "--kubeconfig", kc)
    assert result.code == ExitCode.UNAVAILABLE
    assert "cannot reach the API server" in result.err
    assert "SSL" not in result.err and "urllib3" not in result.err and TOKEN not in result.err


def test_a_malformed_server_url_is_65(kube, tmp_path, cli):
    kc = kubeconfig_with(tmp_path, kube, {"token": TOKEN}, server="http://127.0.0.1:notaport")
    result = cli("status", "--kubeconfig", kc)
    assert result.code in (ExitCode.DATA, ExitCode.UNAVAILABLE), result.err
    assert "internal error" not in result.err and TOKEN not in result.err


def test_connection_reasons_never_quote_the_layer_below():
    class Wrapped(Exception):
        def __init__(self, reason):
            super().__init__("HTTPConnectionPool: Max retries exceeded (Authorization: Bearer leaked)")
            self.reason = reason

    assert _reason(Wrapped(ConnectionRefusedError(111, "Connection refused"))) == "connection refused"
    assert _reason(Wrapped(RuntimeError("Bearer leaked"))) == "connection failed (RuntimeError)"


def test_an_internal_error_names_type_and_place_never_the_text(cli, monkeypatch):
    import meshctl.cli.version as version

    def boom(*args, **kwargs):
        raise ValueError("Invalid header value b'Bearer fixture-secret-in-text'")

    monkeypatch.setattr(version, "render_version", boom, raising=False)
    monkeypatch.setattr("meshctl.cli.common.emit", boom)
    result = cli("version", "--no-remote", "--short")
    assert result.code == ExitCode.ERROR
    assert "internal error: ValueError at" in result.err
    assert "fixture-secret-in-text" not in result.err


@pytest.mark.parametrize("args, code", [
    (("analyze", "-f", "/nonexistent/fixture.yaml"), None),
    (("status", "--snapshot", "/nonexistent/snap"), None),
])
def test_debug_adds_a_traceback_and_keeps_the_exit_code(cli, monkeypatch, args, code):
    plain = cli(*args)
    monkeypatch.setenv("MESHCTL_DEBUG", "1")
    debug = cli(*args)
    assert plain.code not in (0, ExitCode.ERROR) and debug.code == plain.code
    assert "Traceback" in debug.err and "Traceback" not in plain.err
    assert plain.err.strip().splitlines()[-2:] == debug.err.strip().splitlines()[-2:]


def test_debug_keeps_the_exit_code_of_an_internal_error(cli, monkeypatch):
    monkeypatch.setattr("meshctl.cli.common.emit", lambda *a, **k: 1 / 0)
    monkeypatch.setenv("MESHCTL_DEBUG", "1")
    result = cli("version", "--no-remote", "--short")
    assert result.code == ExitCode.ERROR
    assert "ZeroDivisionError" in result.err and "Traceback" in result.err


def test_a_yaml_error_in_a_kubeconfig_never_quotes_the_token(tmp_path, cli):
    kc = tmp_path / "kc.yaml"  # a token mistyped as an alias: PyYAML's complaint names the alias
    kc.write_text(f"apiVersion: v1\nkind: Config\nusers:\n- name: u\n  user:\n    token: *{TOKEN}\n")
    result = cli("status", "--kubeconfig", str(kc))
    assert result.code == ExitCode.DATA
    assert "invalid YAML at line 6: found undefined alias" in result.err  # the cli fixture checks TOKEN too


@pytest.mark.parametrize("users", ["5", "{a: 1}", "[5, x]"])
def test_a_kubeconfig_section_of_the_wrong_type_is_bad_input(tmp_path, cli, users):
    kc = tmp_path / "kc.yaml"
    kc.write_text("apiVersion: v1\nkind: Config\ncurrent-context: c\n"
                  "contexts: [{name: c, context: {cluster: c, user: u}}]\n"
                  f"clusters: [{{name: c, cluster: {{server: 'http://127.0.0.1:1'}}}}]\nusers: {users}\n")
    result = cli("status", "--kubeconfig", str(kc))
    assert result.code in (ExitCode.DATA, ExitCode.UNAVAILABLE), result.err
    assert "internal error" not in result.err
