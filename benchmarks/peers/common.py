# Shared by the peer scripts: timing like benchmarks/harness.ts (median after warm-up).
import time

def median(xs):
    xs = sorted(xs); n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2

def bench(fn, min_seconds=0.3, warmup=2, max_repeats=200):
    for _ in range(warmup):
        fn()
    samples = []; start = time.perf_counter()
    while len(samples) < 3 or (time.perf_counter() - start < min_seconds and len(samples) < max_repeats):
        t0 = time.perf_counter(); fn(); samples.append(time.perf_counter() - t0)
    return median(samples)

def bench_fast(fn, inner=1000, batches=15):
    for _ in range(inner):
        fn()
    samples = []
    for _ in range(batches):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        samples.append((time.perf_counter() - t0) / inner)
    return median(samples)
