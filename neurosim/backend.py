"""Array backends: numpy on the CPU (the default) and PyTorch on a CUDA GPU (optional).

The engines, the coupling and the EqProp rule are written once against the array-API namespace that
``array_api_compat`` returns for their arrays, so the same code runs on numpy arrays and on torch tensors on the
GPU. PyTorch was chosen over CuPy by measurement (``benchmarks/gpu_backends.py``): only PyTorch can capture
cuBLAS products in a CUDA graph, which is what removes the launch overhead at batch 20 (docs/performance.md).
PyTorch is not a dependency: it is imported only when ``device="cuda"`` is asked for.
"""

from __future__ import annotations

import numpy as np
from array_api_compat import array_namespace, is_torch_array
from .errors import NeurosimError

DEVICES = ("cpu", "cuda")

__all__ = ["DEVICES", "BackendError", "addmm", "array_namespace", "clip_into", "is_torch_array", "to_device",
           "to_numpy"]


class BackendError(NeurosimError, RuntimeError):
    """The requested device cannot be used here; the message says why and what to install."""


def torch_cuda():
    """The ``torch`` module, checked to see a CUDA device."""
    try:
        import torch
    except ImportError:
        raise BackendError("device='cuda' needs PyTorch with CUDA support (pip install torch)") from None
    if not torch.cuda.is_available():
        raise BackendError("device='cuda': PyTorch sees no CUDA device on this machine")
    return torch


def to_device(array, device: str):
    """``array`` (numpy or torch) on ``device``: a numpy array for "cpu", a CUDA torch tensor for "cuda"."""
    if device == "cpu":
        return to_numpy(array)
    if device == "cuda":
        torch = torch_cuda()
        if is_torch_array(array):
            return array.to("cuda")
        return torch.from_numpy(np.ascontiguousarray(array)).to("cuda")
    raise BackendError(f"device={device!r}: choose one of {', '.join(DEVICES)}")


def to_numpy(array):
    """A numpy array (copied from the GPU when needed); numpy arrays pass through."""
    if is_torch_array(array):
        return array.detach().cpu().numpy()
    return np.asarray(array)


def addmm(c, a, b):
    """c + a @ b, as one fused call (``torch.addmm``, one kernel) on torch tensors."""
    if is_torch_array(a):
        import torch

        return torch.addmm(c, a, b)
    return np.matmul(a, b) + c


def clip_into(a, out) -> None:
    """out[...] = clip(a, 0, 1), written into ``out`` (a view, e.g. a slice of the state) as one call: on torch
    one kernel instead of a clip and a copy (the array API has no ``out``)."""
    if is_torch_array(a):
        import torch

        torch.clamp(a, 0.0, 1.0, out=out)
    else:
        np.clip(a, 0.0, 1.0, out=out)
