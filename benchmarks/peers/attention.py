# Peer for the attention suite: scaled dot-product attention the way PyTorch 1.13 code writes it
# (1.13 has no F.scaled_dot_product_attention; it came in 2.0): the composite
#   s = (q @ k.transpose(-2, -1)) * scale; s = s.masked_fill(triu_mask, -inf) if causal
#   out = softmax(s, -1) @ v
# which materialises the [B, H, T, T] scores. Always the composite, even where a newer torch has
# the fused function, so the comparison stays the one the suite states.
# Input JSON: {"threads", "shapes": [[B, H, T, D], ...], "min_seconds", "warmup", "memory": [T, ...],
# "memory_shape": [B, H, D]}. Output JSON: {"torch": version, "has_sdpa": bool,
# "seconds": {"B,H,T,D,causal,pass": median seconds} (pass "fwd" or "fwdbwd", causal 0/1),
# "memory": {"T": peak RSS growth in bytes, or null where /proc cannot say}}.
import gc, json, math, re, sys
from common import bench

args = json.loads(sys.argv[1])
import torch
import torch.nn.functional as F

torch.set_num_threads(args["threads"])
torch.manual_seed(0)


def attention(q, k, v, mask, scale):
    s = (q @ k.transpose(-2, -1)) * scale
    if mask is not None:
        s = s.masked_fill(mask, float("-inf"))
    return torch.softmax(s, dim=-1) @ v


def inputs(B, H, T, D, causal, grad):
    q, k, v = (torch.randn(B, H, T, D, requires_grad=grad) for _ in range(3))
    g = torch.randn(B, H, T, D)
    # The mask is built once, as a model's buffer would be, and not timed.
    mask = torch.ones(T, T, dtype=torch.bool).triu(1) if causal else None
    return q, k, v, g, mask


def step_fwd(q, k, v, mask, scale):
    with torch.no_grad():
        attention(q, k, v, mask, scale)


def step_fwdbwd(q, k, v, g, mask, scale):
    out = attention(q, k, v, mask, scale)
    out.backward(g)
    q.grad = k.grad = v.grad = None


def status(field):
    with open("/proc/self/status") as f:
        m = re.search(field + r":\s+(\d+) kB", f.read())
    return int(m.group(1)) * 1024 if m else None


def trim():
    # Hands freed heap pages back (glibc), so that reusing them shows in the RSS again.
    try:
        import ctypes
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def reset_peak():
    # Writing 5 to clear_refs resets VmHWM (the peak RSS) to the current RSS (Linux >= 4.0).
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


# Memory first, before the timing loops have freed blocks the allocator would reuse unseen.
memory = {}
if args.get("memory"):
    B, H, D = args["memory_shape"]
    for T in sorted(args["memory"]):  # ascending, so no earlier peak hides a later one
        gc.collect()
        trim()
        base = status("VmRSS")
        if not reset_peak() or base is None:
            memory[str(T)] = None
            continue
        q, k, v, g, mask = inputs(B, H, T, D, True, True)
        step_fwdbwd(q, k, v, g, mask, 1 / math.sqrt(D))
        peak = status("VmHWM")
        memory[str(T)] = None if peak is None else peak - base
        del q, k, v, g, mask


seconds = {}
for (B, H, T, D) in args["shapes"]:
    scale = 1 / math.sqrt(D)
    for causal in (False, True):
        q, k, v, g, mask = inputs(B, H, T, D, causal, False)
        key = f"{B},{H},{T},{D},{int(causal)}"
        seconds[key + ",fwd"] = bench(lambda: step_fwd(q, k, v, mask, scale), args["min_seconds"], args["warmup"])
        for t in (q, k, v):
            t.requires_grad_(True)
        seconds[key + ",fwdbwd"] = bench(lambda: step_fwdbwd(q, k, v, g, mask, scale), args["min_seconds"], args["warmup"])
        del q, k, v, g, mask


print(json.dumps({"torch": torch.__version__, "has_sdpa": hasattr(F, "scaled_dot_product_attention"),
                  "seconds": seconds, "memory": memory}))
