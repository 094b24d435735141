# Peer GEMM GFLOP/s for the gemm suite: NumPy (OpenBLAS) and PyTorch, at the thread count the
# runner sets through OMP_NUM_THREADS / OPENBLAS_NUM_THREADS. Input JSON: {"shapes": [[M, N, K], ...],
# "threads": T, "dtype": "float32" (default) or "bfloat16" (PyTorch only: NumPy has no bfloat16)}.
# Output JSON: {"numpy": {"M,N,K": gflops}, "torch": {...}} (a missing peer is absent).
from common import bench, main

try:
    import numpy as np
except ImportError:
    np = None
try:
    import torch
except ImportError:
    torch = None


def measure(args):
    out = {}
    bf16 = args.get("dtype", "float32") == "bfloat16"
    if np is not None and not bf16:
        res = {}
        for (m, n, k) in args["shapes"]:
            a = np.random.rand(m, k).astype(np.float32); b = np.random.rand(k, n).astype(np.float32)
            res[f"{m},{n},{k}"] = 2 * m * n * k / bench(lambda: a @ b) / 1e9
        out["numpy"] = res
    if torch is not None:
        torch.set_num_threads(args["threads"])
        res = {}
        for (m, n, k) in args["shapes"]:
            a = torch.rand(m, k); b = torch.rand(k, n)
            if bf16:
                a = a.bfloat16(); b = b.bfloat16()
            res[f"{m},{n},{k}"] = 2 * m * n * k / bench(lambda: torch.matmul(a, b)) / 1e9
        out["torch"] = res
    return out


main(measure)
