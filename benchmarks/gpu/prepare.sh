#!/usr/bin/env bash
# Run HERE, in the repository root, before the GPU check: puts what the device machine lacks into .device/
# (ignored by git, carried by the device tool): wheels of neurosim's pure-Python dependencies that its image
# does not hold (for Python 3.12, x86-64) and the MNIST IDX files (../shared does not travel).
#   bash benchmarks/gpu/prepare.sh [MNIST_DIR]        # default ../shared/data/mnist
# Then, in one device call: carry [".device"], command "bash benchmarks/gpu/check.sh" (docs/performance.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
mnist=${1:-../shared/data/mnist}
mkdir -p .device/whl .device/mnist
cp "$mnist"/*-ubyte.gz .device/mnist/
version() { python3 -m pip show "$1" 2>/dev/null | sed -n 's/^Version: //p'; }
wheels=()
for name in array-api-compat pydantic pydantic-core annotated-types typing-inspection typing-extensions; do
    v=$(version "$name"); wheels+=("$name${v:+==$v}")
done
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    -d .device/whl "${wheels[@]}"
ls .device/whl .device/mnist
du -sh .device
