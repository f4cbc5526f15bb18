#!/usr/bin/env bash
# Run ON THE DEVICE MACHINE (one call of the device tool, after benchmarks/gpu/prepare.sh here):
#   carry [".device"], command "bash benchmarks/gpu/check.sh [NETWORK ...]", timeout_s 600
# NETWORK: small-world (default), layered-per-layer, layered-one-rate (each ~2-4 min: 60,000 + 10,000 examples,
# three methods). Installs the carried wheels, runs the GPU tests (tests/test_gpu.py: the CUDA path equals the
# CPU; tests/test_torch_path.py), then benchmarks/epoch_speed.py --device cuda for each network: neurosim's
# fastest setting and its Euler schedule, both in CUDA graphs, against the reference algorithm as a plain eager
# torch loop, side by side. Everything it prints is also in $OUT/gpu-check.txt.
set -uo pipefail
cd "$(dirname "$0")/../.."
export PYTHONUNBUFFERED=1

check() {
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
        .device/whl/*.whl || return 1
    export PYTHONPATH=/tmp/site:$PWD
    nvidia-smi -L
    python3 -c "import torch, numpy; print('torch', torch.__version__, 'numpy', numpy.__version__, torch.cuda.get_device_name())"
    date
    timeout 150 python3 -m pytest -q -p no:cacheprovider tests/test_gpu.py tests/test_torch_path.py
    for network in "${@:-small-world}"; do
        date
        python3 benchmarks/epoch_speed.py --data-dir .device/mnist --device cuda --network "$network"
    done
    date
}

check "$@" 2>&1 | tee "${OUT:-/tmp}/gpu-check.txt"
