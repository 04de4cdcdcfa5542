#!/usr/bin/env bash
# Create .venv (once) and install meshctl into it in editable mode, with the test tools when asked:
#   source scripts/setup.sh [test]
# Re-installs only when pyproject.toml changed since the last install.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${MESHCTL_VENV:-$root/.venv}"
extra="${1:-}"
python="${PYTHON:-python3}"
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "meshctl needs Python 3.11 or newer (found: $("$python" --version 2>&1))" >&2
  exit 1
fi
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
quietly() {  # run a setup step; show its output only when it fails
  if ! "$@" >"$log" 2>&1; then cat "$log" >&2; echo "setup failed: $*" >&2; exit 1; fi
}
if [ ! -x "$venv/bin/python" ]; then
  echo "Creating $venv ..." >&2
  quietly "$python" -m venv "$venv"
  quietly "$venv/bin/python" -m pip install --upgrade pip
fi
stamp="$venv/.meshctl-installed${extra:+-$extra}"
want="$(sha256sum "$root/pyproject.toml" | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  spec="$root"
  [ -n "$extra" ] && spec="$root[$extra]"
  # compat mode puts the checkout on sys.path through a .pth file: no import hook to pay for at start-up
  echo "Installing meshctl${extra:+ with its $extra tools} into $venv ..." >&2
  quietly "$venv/bin/python" -m pip install -e "$spec" --config-settings editable_mode=compat
  echo "$want" > "$stamp"
fi
# Byte-compile the checkout (incremental): start-up stays fast even where PYTHONDONTWRITEBYTECODE is set.
quietly "$venv/bin/python" -m compileall -q "$root/meshctl"
export PATH="$venv/bin:$PATH"
