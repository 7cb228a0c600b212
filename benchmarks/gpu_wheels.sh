#!/usr/bin/env bash
# Download the wheels benchmarks/gpu_check.py needs on a machine that has JAX (and numpy,
# absl-py, h5py, ml-dtypes, rich, packaging) but no Keras: keras and its two other
# dependencies, for CPython 3.12 on x86_64, into .whl/ (about 2 MB). With `scan`, also
# jpeglib (about 23 MB), which `benchmarks/scan.py --local_only` reads JPEGs with (such
# machines have scikit-image, Pillow and tqdm already).
#   Usage: bash benchmarks/gpu_wheels.sh [scan]
set -euo pipefail
cd "$(dirname "$0")/.."
version() { ${PYTHON:-.venv/bin/python} -c "import importlib.metadata as m; print(m.version('$1'))" 2>/dev/null || echo "$2"; }
wheels=("keras==$(version keras 3.15.1)" namex optree)
if [ "${1:-}" = "scan" ]; then wheels+=("jpeglib==$(version jpeglib 1.0.2)"); fi
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 -d .whl "${wheels[@]}"
ls -l .whl
