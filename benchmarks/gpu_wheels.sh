#!/usr/bin/env bash
# Download the wheels benchmarks/gpu_check.py needs on a machine that has JAX (and numpy,
# absl-py, h5py, ml-dtypes, rich, packaging) but no Keras: keras and its two other
# dependencies, for CPython 3.12 on x86_64, into .whl/ (about 2 MB). Usage: bash benchmarks/gpu_wheels.sh
set -euo pipefail
cd "$(dirname "$0")/.."
keras_version=$(${PYTHON:-.venv/bin/python} -c "import importlib.metadata as m; print(m.version('keras'))" 2>/dev/null || echo 3.15.1)
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 -d .whl "keras==${keras_version}" namex optree
ls -l .whl
