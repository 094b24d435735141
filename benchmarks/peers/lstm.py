# PyTorch's side of benchmarks/lstm.ts: torch.nn.LSTM(256, 256), T 128, B 32, float32, at the thread
# count tensorforge uses here (2), medians of 10 runs after 2 warm-ups.
import time
import torch

torch.set_num_threads(2)
T, B, I, H = 128, 32, 256, 256
m = torch.nn.LSTM(I, H)
x = torch.randn(T, B, I, requires_grad=True)

def median(f, n=10):
    for _ in range(2):
        f()
    ts = []
    for _ in range(n):
        t0 = time.perf_counter(); f(); ts.append(time.perf_counter() - t0)
    return sorted(ts)[n // 2] * 1000

def fwd():
    with torch.no_grad():
        m(x)

def fb():
    y, _ = m(x)
    y.sum().backward()
    m.zero_grad(); x.grad = None

print('torch %s LSTM(%d, %d) T=%d B=%d float32, %d threads: forward %.1f ms, forward + backward %.1f ms'
      % (torch.__version__, I, H, T, B, torch.get_num_threads(), median(fwd), median(fb)))
