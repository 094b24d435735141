# Peer for the train suite: one epoch of LeNet-5 on Fashion-MNIST in PyTorch (Adam 1e-3, batch 64),
# then test accuracy. Input JSON: {"root": dir with the IDX files, "threads": T, "limit": N or null,
# "seed": S}. Output JSON: {"epoch_seconds", "images_per_second", "test_accuracy", "loss"}.
import gzip, json, os, struct, sys, time

args = json.loads(sys.argv[1])
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(args["threads"])
torch.manual_seed(args.get("seed", 0))

def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return torch.frombuffer(bytearray(data[4 + 4 * ndim:]), dtype=torch.uint8).reshape(dims)

def find(root, stem):
    for name in (stem, stem + ".gz"):
        p = os.path.join(root, name)
        if os.path.exists(p):
            return p
    raise FileNotFoundError(os.path.join(root, stem))

root = args["root"]
xtr = read_idx(find(root, "train-images-idx3-ubyte")).float().div(255).unsqueeze(1)
ytr = read_idx(find(root, "train-labels-idx1-ubyte")).long()
xte = read_idx(find(root, "t10k-images-idx3-ubyte")).float().div(255).unsqueeze(1)
yte = read_idx(find(root, "t10k-labels-idx1-ubyte")).long()
if args.get("limit"):
    xtr, ytr = xtr[: args["limit"]], ytr[: args["limit"]]

class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 6, 5, padding=2); self.c2 = nn.Conv2d(6, 16, 5)
        self.f1 = nn.Linear(16 * 5 * 5, 120); self.f2 = nn.Linear(120, 84); self.f3 = nn.Linear(84, 10)
    def forward(self, x):
        x = F.max_pool2d(F.relu(self.c1(x)), 2)
        x = F.max_pool2d(F.relu(self.c2(x)), 2)
        x = x.flatten(1)
        return self.f3(F.relu(self.f2(F.relu(self.f1(x)))))

model = LeNet()
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
n = xtr.shape[0]
perm = torch.randperm(n)
t0 = time.perf_counter()
for i in range(0, n, 64):
    idx = perm[i:i + 64]
    loss = F.cross_entropy(model(xtr[idx]), ytr[idx])
    opt.zero_grad()
    loss.backward()
    opt.step()
secs = time.perf_counter() - t0
with torch.no_grad():
    acc = sum((model(xte[i:i + 1000]).argmax(1) == yte[i:i + 1000]).sum().item() for i in range(0, xte.shape[0], 1000)) / xte.shape[0]
print(json.dumps({"epoch_seconds": secs, "images_per_second": n / secs, "test_accuracy": acc, "loss": loss.item()}))
