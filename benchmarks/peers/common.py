# Shared by the peer scripts: timing like benchmarks/harness.ts (median after warm-up).
import json, sys, time

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


def main(measure):
    """Runs measure(args) on the JSON in argv[1] and prints its JSON result; or, with
    `--serve REQ RESP` (benchmarks/harness.ts PeerServer), stays up answering each JSON line read
    from the pipe REQ with a line {"value": result} or {"error": message} on the pipe RESP, after a
    first {"value": "ready"} once the peer's modules are imported."""
    if len(sys.argv) == 4 and sys.argv[1] == "--serve":
        with open(sys.argv[3], "w") as resp, open(sys.argv[2]) as req:
            def answer(msg):
                resp.write(json.dumps(msg) + "\n")
                resp.flush()
            answer({"value": "ready"})
            for line in req:
                try:
                    answer({"value": measure(json.loads(line))})
                except Exception as e:  # the harness reports it and stops asking this peer
                    answer({"error": f"{type(e).__name__}: {e}"})
        return
    print(json.dumps(measure(json.loads(sys.argv[1]))))
