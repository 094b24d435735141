# Peer per-call overhead for the ops suite (PyTorch from Python), microseconds per call.
# Input JSON: {"threads": T}. Output JSON: {"torch": {"case": us}}.
import json, sys
from common import bench_fast, bench

args = json.loads(sys.argv[1])
out = {}
try:
    import torch
    torch.set_num_threads(args["threads"])
    a = torch.ones(1); b = torch.ones(1)
    ag = torch.ones(1, requires_grad=True)
    m = torch.rand(64, 64); v = torch.rand(1000)
    x = torch.rand(4 * 1024 * 1024); y = torch.rand(4 * 1024 * 1024)
    res = {
        "add 1-element": bench_fast(lambda: a + b) * 1e6,
        "add 1-element, recording autograd": bench_fast(lambda: ag + b) * 1e6,
        "matmul 64x64": bench_fast(lambda: m @ m, inner=200) * 1e6,
        "sum of 1000": bench_fast(lambda: v.sum()) * 1e6,
        "add 4M elements": bench(lambda: x + y) * 1e6,
        "exp 4M elements": bench(lambda: torch.exp(x)) * 1e6,
        "sum 4M elements": bench(lambda: x.sum()) * 1e6,
        "softmax [4096, 1024] last dim": bench(lambda: torch.softmax(x.view(4096, 1024), -1)) * 1e6,
    }
    out["torch"] = res
except ImportError:
    pass
print(json.dumps(out))
