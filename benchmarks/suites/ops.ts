// ops suite: the per-call cost of small ops (what dominates small models) and the throughput of
// memory-bound elementwise ops and reductions, beside PyTorch called from Python in the same run.
// 'tensorforge' is the compiled package (dist/) here: npm run bench builds it and maps the name.
import * as tf from 'tensorforge';
import { fmt, runPeer, timeFast, timeIt, type Section } from '../harness';

export function run(): Section {
  const threads = tf.getNumThreads();
  const results: Record<string, number> = {};
  const a = tf.ones([1]), b = tf.ones([1]);
  const ag = tf.ones([1], { requiresGrad: true });
  const m = tf.rand([64, 64]), v = tf.rand([1000]);
  const n = 4 * 1024 * 1024;
  const x = tf.rand([n]), y = tf.rand([n]);
  results['add 1-element'] = timeFast(() => a.add(b).dispose()) * 1e6;
  results['add 1-element, recording autograd'] = timeFast(() => ag.add(b).dispose()) * 1e6;
  results['matmul 64x64'] = timeFast(() => m.matmul(m).dispose(), 200) * 1e6;
  results['sum of 1000'] = timeFast(() => v.sum().dispose()) * 1e6;
  results['add 4M elements'] = timeIt(() => x.add(y).dispose()) * 1e6;
  results['exp 4M elements'] = timeIt(() => x.exp().dispose()) * 1e6;
  results['sum 4M elements'] = timeIt(() => x.sum().dispose()) * 1e6;
  const x2 = x.view([4096, 1024]);
  results['softmax [4096, 1024] last dim'] = timeIt(() => x2.softmax(-1).dispose()) * 1e6;
  tf.dispose([a, b, ag, m, v, x, y, x2]);

  const notes = [
    `${threads} threads; tensorforge CPU kernels: ${tf.cpuKernelLevel()}.`,
    'Bandwidth is bytes read plus written over time; 16 MiB operands are partly cache-resident here, so it can ' +
      'exceed the 20-30 GB/s DRAM bandwidth.',
  ];
  const peer = runPeer<{ torch?: Record<string, number> }>('ops.py', { threads });
  const torch = peer.ok ? peer.value.torch : undefined;
  if (!peer.ok) notes.push(`PyTorch skipped: ${peer.reason}`);
  else if (!torch) notes.push('PyTorch not installed: skipped');
  const bytes: Record<string, number> = {
    'add 4M elements': 3 * 4 * n,
    'exp 4M elements': 2 * 4 * n,
    'sum 4M elements': 4 * n,
    'softmax [4096, 1024] last dim': 2 * 4 * n,
  };
  const rows = Object.entries(results).map(([k, us]) => {
    const pt = torch?.[k];
    const gbs = bytes[k] ? `${fmt(bytes[k] / (us * 1e-6) / 1e9)} GB/s` : '';
    return [k, fmt(us, 2), pt !== undefined ? fmt(pt, 2) : '-', pt !== undefined ? `${fmt(pt / us, 2)}x` : '-', gbs];
  });
  return {
    suite: 'ops',
    title: 'Op overhead and elementwise throughput, microseconds per call, median',
    header: ['case', 'tensorforge µs', 'PyTorch µs', 'speed-up vs PyTorch', 'tensorforge bandwidth'],
    rows,
    notes,
  };
}
