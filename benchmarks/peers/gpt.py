# Peer for the gpt suite: the character GPT of examples/gpt in PyTorch (token + learned position
# embeddings, pre-norm nn.TransformerEncoderLayer blocks with GELU and a causal mask, final
# LayerNorm, head tied to the token embedding; GPT-2 init), trained with AdamW (betas 0.9/0.95,
# weight decay 0.1 on matrices), gradient clipping at 1, warm-up then cosine, on the same corpus.
# Input JSON: {"corpus", "threads", "seed", "steps", "warmup", "batch", "context", "layers", "heads",
# "d_model", "lr"}. Output JSON: {"step_ms", "val_loss", "train_loss", "params"}.
import json, math, os, sys, time

args = json.loads(sys.argv[1])
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(args["threads"])
torch.manual_seed(args["seed"])

src = args["corpus"]
if os.path.isfile(src):
    text = open(src, encoding="utf-8").read()
else:
    files = [os.path.join(src, f) for f in sorted(os.listdir(src))]
    files = [f for f in files if os.path.isfile(f) and not os.path.islink(f)]
    text = "\n".join(open(f, encoding="utf-8").read() for f in files)
chars = sorted(set(text))
stoi = {c: i for i, c in enumerate(chars)}
ids = torch.tensor([stoi[c] for c in text], dtype=torch.long)
cut = int(len(ids) * 0.9)
train_ids, val_ids = ids[:cut], ids[cut:]
V, T, B, D = len(chars), args["context"], args["batch"], args["d_model"]

def batch(data):
    starts = torch.randint(0, len(data) - T - 1, (B,))
    x = torch.stack([data[s:s + T] for s in starts])
    y = torch.stack([data[s + 1:s + T + 1] for s in starts])
    return x, y

class GPT(nn.Module):
    def __init__(self):
        super().__init__()
        self.tok_emb = nn.Embedding(V, D)
        self.pos_emb = nn.Embedding(T, D)
        self.blocks = nn.ModuleList([
            nn.TransformerEncoderLayer(D, args["heads"], dim_feedforward=4 * D, dropout=0.0, activation="gelu",
                                       batch_first=True, norm_first=True) for _ in range(args["layers"])])
        self.ln_f = nn.LayerNorm(D)
        for name, p in self.named_parameters():
            if p.dim() >= 2: nn.init.normal_(p, 0, 0.02)
            elif name.endswith("bias"): nn.init.zeros_(p)
        self.register_buffer("mask", torch.triu(torch.full((T, T), float("-inf")), 1))

    def forward(self, idx):
        x = self.tok_emb(idx) + self.pos_emb(torch.arange(idx.shape[1]))
        for blk in self.blocks:
            x = blk(x, src_mask=self.mask)
        return self.ln_f(x) @ self.tok_emb.weight.t()

model = GPT()
decay = [p for p in model.parameters() if p.dim() >= 2]
no_decay = [p for p in model.parameters() if p.dim() < 2]
opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                        lr=args["lr"], betas=(0.9, 0.95))
steps, warmup = args["steps"], args["warmup"]
def lr_at(step):  # step 0-based: linear warm-up, then cosine down to lr / 10
    if step < warmup: return args["lr"] * (step + 1) / warmup
    t = (step - warmup) / max(1, steps - warmup)
    return args["lr"] / 10 + (args["lr"] - args["lr"] / 10) * (1 + math.cos(math.pi * t)) / 2

times, losses = [], []
for step in range(steps):
    for g in opt.param_groups: g["lr"] = lr_at(step)
    x, y = batch(train_ids)
    t0 = time.perf_counter()
    loss = F.cross_entropy(model(x).reshape(-1, V), y.reshape(-1))
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    times.append(time.perf_counter() - t0)
    losses.append(loss.item())

model.eval()
with torch.no_grad():  # every non-overlapping window of the held-out split, as the suite does
    count = (len(val_ids) - 1) // T
    total, tokens = 0.0, 0
    for w0 in range(0, count, B):
        n = min(B, count - w0)
        x = torch.stack([val_ids[(w0 + b) * T:(w0 + b) * T + T] for b in range(n)])
        y = torch.stack([val_ids[(w0 + b) * T + 1:(w0 + b) * T + T + 1] for b in range(n)])
        total += F.cross_entropy(model(x).reshape(-1, V), y.reshape(-1), reduction="sum").item()
        tokens += y.numel()
    val = total / tokens
warm = sorted(times[min(5, len(times) - 1):])
print(json.dumps({"step_ms": 1000 * warm[len(warm) // 2], "val_loss": val, "train_loss": sum(losses[-10:]) / len(losses[-10:]),
                  "params": sum(p.numel() for p in model.parameters())}))
