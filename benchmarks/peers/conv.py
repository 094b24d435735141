# Peer for the conv suite: torch.nn.functional.conv2d (oneDNN on the CPU) on the suite's layers,
# forward alone (no grad) and forward + backward (input, weight and bias requiring grad; backward
# of a fixed random gradient of the output).
# Input JSON: {"threads", "layers": [{"name", "n", "c", "h", "w", "oc", "k", "stride", "pad", "groups"}],
# "min_seconds", "warmup"}. Output JSON: {"torch": version, "seconds": {"name,pass": median seconds}}.
from common import bench, main

import torch
import torch.nn.functional as F


def measure(args):
    torch.set_num_threads(args["threads"])
    torch.manual_seed(0)
    seconds = {}
    for L in args["layers"]:
        x = torch.randn(L["n"], L["c"], L["h"], L["w"])
        w = torch.randn(L["oc"], L["c"] // L["groups"], L["k"], L["k"])
        b = torch.randn(L["oc"])
        kw = dict(stride=L["stride"], padding=L["pad"], groups=L["groups"])
        with torch.no_grad():
            g = torch.randn_like(F.conv2d(x, w, b, **kw))

        def fwd():
            with torch.no_grad():
                F.conv2d(x, w, b, **kw)

        seconds[L["name"] + ",fwd"] = bench(fwd, args["min_seconds"], args["warmup"])
        for t in (x, w, b):
            t.requires_grad_(True)

        def fwdbwd():
            F.conv2d(x, w, b, **kw).backward(g)
            x.grad = w.grad = b.grad = None

        seconds[L["name"] + ",fwdbwd"] = bench(fwdbwd, args["min_seconds"], args["warmup"])
    return {"torch": torch.__version__, "seconds": seconds}


main(measure)
