#!/usr/bin/env bash
# Assembles an importable `ember` package from a CMake build directory without installing it:
#   scripts/stage_package.sh build/dev   ->   PYTHONPATH=build/dev/python python -c "import ember"
# The Python sources are symlinked, so edits to python/ember show up at once; rerun after adding files.
set -euo pipefail
build_dir=${1:?usage: scripts/stage_package.sh BUILD_DIR}
root=$(cd "$(dirname "$0")/.." && pwd)
stage="$build_dir/python"
rm -rf "$stage/ember"
mkdir -p "$stage"
cp -rs "$root/python/ember" "$stage/"
find "$stage/ember" -name '_C*.so' -delete
ln -sf "$(cd "$build_dir" && pwd)"/_C*.so "$stage/ember/"
echo "staged: PYTHONPATH=$stage"
