"""Choose neurosim's GPU array library by measurement: PyTorch or CuPy, eager or CUDA-graph replay.

One Euler iteration of the paper's small-world network (1510 free neurons, the free-free couplings as one dense
float32 matrix) written the way an engine runs it, s <- clip(s A + c, 0, 1) with A = eps W + (1 - eps) I and
c = eps (b + W_sx x): one matrix product and one elementwise kernel. Timed per iteration for batch sizes 20,
200 and 1000, eager and replayed from a CUDA graph of 500 iterations.

    python benchmarks/gpu_backends.py            (needs a CUDA GPU and torch and/or cupy)
"""

from __future__ import annotations

import time

import numpy as np

N_FREE, STEPS, REPEAT = 1510, 500, 6


def problem(batch, seed=0):
    rng = np.random.default_rng(seed)
    w = rng.uniform(-0.02, 0.02, size=(N_FREE, N_FREE)).astype(np.float32)
    w = (w + w.T) / 2
    np.fill_diagonal(w, 0)
    a = (0.5 * w + 0.5 * np.eye(N_FREE)).astype(np.float32)
    c = (0.5 * rng.uniform(0, 0.5, size=(batch, N_FREE))).astype(np.float32)
    return a, c


def reference(batch):
    a, c = problem(batch)
    s = np.zeros_like(c)
    for _ in range(STEPS):
        s = np.clip(s @ a + c, 0, 1)
    return s


def time_torch(batch, graph):
    import torch

    torch.backends.cuda.matmul.allow_tf32 = False
    a_np, c_np = problem(batch)
    a, c = torch.from_numpy(a_np).cuda(), torch.from_numpy(c_np).cuda()
    s, t = torch.zeros_like(c), torch.empty_like(c)

    def run():
        s.zero_()
        for _ in range(STEPS):
            torch.addmm(c, s, a, out=t)
            torch.clamp(t, 0, 1, out=s)

    if graph:
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            run()
        torch.cuda.current_stream().wait_stream(side)
        g = torch.cuda.CUDAGraph()
        with torch.cuda.graph(g):
            run()
        launch = g.replay
    else:
        launch = run
    launch()
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(REPEAT):
        launch()
    torch.cuda.synchronize()
    return (time.perf_counter() - start) / (REPEAT * STEPS), s.cpu().numpy()


def time_cupy(batch, graph):
    import cupy as cp

    a_np, c_np = problem(batch)
    a, c = cp.asarray(a_np), cp.asarray(c_np)
    s, t = cp.zeros_like(c), cp.empty_like(c)
    add_clip = cp.ElementwiseKernel("T t, T c", "T s", "s = min(max(t + c, (T)0), (T)1)", "add_clip")

    def run():
        s.fill(0)
        for _ in range(STEPS):
            cp.matmul(s, a, out=t)
            add_clip(t, c, s)

    stream = cp.cuda.Stream(non_blocking=True)
    with stream:
        run()
        stream.synchronize()
        if graph:
            stream.begin_capture()
            run()
            g = stream.end_capture()
            launch = lambda: g.launch(stream)  # noqa: E731
        else:
            launch = run
        launch()
        stream.synchronize()
        start = time.perf_counter()
        for _ in range(REPEAT):
            launch()
        stream.synchronize()
    return (time.perf_counter() - start) / (REPEAT * STEPS), cp.asnumpy(s)


def main() -> None:
    print(f"{'library':8} {'mode':6} {'batch':>5} {'us/iter':>9} {'example-it/s':>13} {'max |s - numpy|':>16}")
    for batch in (20, 200, 1000):
        ref = reference(batch)
        for name, fn in (("torch", time_torch), ("cupy", time_cupy)):
            for graph in (False, True):
                try:
                    seconds, s = fn(batch, graph)
                except Exception as err:  # report and go on: the point is to compare what works
                    print(f"{name:8} {'graph' if graph else 'eager':6} {batch:5d} failed: {type(err).__name__}: {err}")
                    continue
                print(
                    f"{name:8} {'graph' if graph else 'eager':6} {batch:5d} {1e6 * seconds:9.1f} "
                    f"{batch / seconds:13.0f} {np.abs(s - ref).max():16.2e}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
