// conv suite: conv2d on the layers of the convolution issue, float32 NCHW, forward alone and
// forward + backward (input, weight and bias gradients), at 1 thread and at all threads, in
// GFLOP/s; beside PyTorch 1.13 (oneDNN) in the same run, best of 1 and 2 threads.
// TENSORFORGE_BENCH_QUICK=1 shrinks batches and repeats (a smoke test, not a result).
import * as tf from 'tensorforge';
import { benchRounds, fmt, PeerServers, peerSettingsNote, roundsNote, timeIt, type Section } from '../harness';

interface Layer {
  name: string;
  n: number; c: number; h: number; w: number;
  oc: number; k: number; stride: number; pad: number; groups: number;
  /** Not one of the convolution issue's layers: measured beside them, without a target. */
  extra?: boolean;
}
type Pass = 'fwd' | 'fwdbwd';

const QUICK = process.env.TENSORFORGE_BENCH_QUICK === '1';
const N_LENET = QUICK ? 8 : 64, N_RESNET = QUICK ? 1 : 8;
const LAYERS: Layer[] = [
  { name: 'LeNet conv1 (1→6, 28×28, k5 p2)', n: N_LENET, c: 1, h: 28, w: 28, oc: 6, k: 5, stride: 1, pad: 2, groups: 1 },
  { name: 'LeNet conv2 (6→16, 14×14, k5)', n: N_LENET, c: 6, h: 14, w: 14, oc: 16, k: 5, stride: 1, pad: 0, groups: 1 },
  { name: 'ResNet-18 stem (3→64, 224×224, k7 s2 p3)', n: N_RESNET, c: 3, h: 224, w: 224, oc: 64, k: 7, stride: 2, pad: 3, groups: 1 },
  { name: 'ResNet-18 64→64, 56×56, k3 p1', n: N_RESNET, c: 64, h: 56, w: 56, oc: 64, k: 3, stride: 1, pad: 1, groups: 1 },
  { name: 'ResNet-18 128→128, 28×28, k3 p1', n: N_RESNET, c: 128, h: 28, w: 28, oc: 128, k: 3, stride: 1, pad: 1, groups: 1 },
  { name: 'ResNet-18 256→256, 14×14, k3 p1', n: N_RESNET, c: 256, h: 14, w: 14, oc: 256, k: 3, stride: 1, pad: 1, groups: 1 },
  { name: 'ResNet-18 512→512, 7×7, k3 p1', n: N_RESNET, c: 512, h: 7, w: 7, oc: 512, k: 3, stride: 1, pad: 1, groups: 1 },
  { name: 'depthwise 3×3 (C 128, 56×56, p1)', n: N_RESNET, c: 128, h: 56, w: 56, oc: 128, k: 3, stride: 1, pad: 1, groups: 128 },
  // MobileNet's downsampling depthwise layer and ConvNeXt's 7×7 one
  { name: 'depthwise 3×3 s2 (C 128, 56×56, p1)', n: N_RESNET, c: 128, h: 56, w: 56, oc: 128, k: 3, stride: 2, pad: 1, groups: 128, extra: true },
  { name: 'depthwise 7×7 (C 96, 56×56, p3)', n: N_RESNET, c: 96, h: 56, w: 56, oc: 96, k: 7, stride: 1, pad: 3, groups: 96, extra: true },
];
const TIMING = QUICK ? { minSeconds: 0, warmup: 1 } : { minSeconds: 0.5, warmup: 2 };
const PASSES: Pass[] = ['fwd', 'fwdbwd'];

const outSize = (l: Layer): number => Math.floor((l.h + 2 * l.pad - l.k) / l.stride) + 1;
/** Forward multiply-adds × 2; forward + backward counts 3× (input and weight gradients each cost a forward). */
function flops(l: Layer, pass: Pass): number {
  const o = outSize(l);
  const fwd = 2 * l.n * l.oc * o * o * (l.c / l.groups) * l.k * l.k;
  return pass === 'fwd' ? fwd : 3 * fwd;
}

const key = (l: Layer, pass: Pass): string => `${l.name},${pass}`;

/** Median seconds of layer l's forward and forward + backward at the current thread count. */
function timeOurs(l: Layer): Map<string, number> {
  const res = new Map<string, number>();
  tf.manualSeed(0);
  const x = tf.randn([l.n, l.c, l.h, l.w]);
  const w = tf.randn([l.oc, l.c / l.groups, l.k, l.k]);
  const b = tf.randn([l.oc]);
  const opts = { stride: l.stride, padding: l.pad, groups: l.groups };
  const g = tf.noGrad(() => tf.randnLike(tf.conv2d(x, w, b, opts)));
  res.set(key(l, 'fwd'), timeIt(() => tf.tidy(() => void tf.noGrad(() => tf.conv2d(x, w, b, opts))), TIMING));
  for (const t of [x, w, b]) t.requiresGrad_(true);
  const step = (): void =>
    tf.tidy(() => {
      tf.conv2d(x, w, b, opts).backward(g);
      for (const t of [x, w, b]) {
        t.grad?.dispose();
        t.grad = null;
      }
    });
  res.set(key(l, 'fwdbwd'), timeIt(step, TIMING));
  tf.dispose([x, w, b, g]);
  return res;
}

const threadsLabel = (n: number): string => `${n} thread${n > 1 ? 's' : ''}`;

export function run(): Section {
  const cores = tf.getNumThreads();
  const threadCounts = cores > 1 ? [1, cores] : [1];
  const notes: string[] = [];
  const ours = new Map<number, Map<string, number>>();
  const peerBest = new Map<string, { seconds: number; threads: number }>();
  let torchVersion: string | null = null;
  // PyTorch at 1 and 2 threads, each a process kept up and asked for each layer right after ours.
  const peerProcs = new PeerServers('conv.py', [1, 2]);
  if (peerProcs.reason) notes.push(`PyTorch skipped: ${peerProcs.reason}`);
  const rounds = QUICK ? 1 : benchRounds();
  try {
    for (let round = 0; round < rounds; round++) {
      for (const l of LAYERS) {
        for (const threads of threadCounts) {
          tf.setNumThreads(threads);
          const mine = ours.get(threads) ?? new Map<string, number>();
          for (const [k, s] of timeOurs(l)) mine.set(k, Math.min(mine.get(k) ?? Infinity, s));
          ours.set(threads, mine);
        }
        for (const [threads, srv] of [...peerProcs.servers]) {
          const r = srv.call<{ torch: string; seconds: Record<string, number> }>({
            threads, layers: [l], min_seconds: TIMING.minSeconds, warmup: TIMING.warmup,
          });
          if (!r.ok) {
            notes.push(`PyTorch skipped: ${r.reason}`);
            peerProcs.close();
            break;
          }
          torchVersion = r.value.torch;
          for (const [k, s] of Object.entries(r.value.seconds)) {
            const prev = peerBest.get(k);
            if (!prev || s < prev.seconds) peerBest.set(k, { seconds: s, threads });
          }
        }
      }
    }
  } finally {
    peerProcs.close();
    tf.setNumThreads(cores);
  }
  notes.push(roundsNote(rounds, "the best of its rounds' medians", true));

  const top = threadCounts[threadCounts.length - 1];
  const header = [
    'layer', 'N', 'measure', ...threadCounts.map((n) => `tensorforge, ${threadsLabel(n)}`),
    'PyTorch, best of 1 and 2 threads', `tensorforge (${threadsLabel(top)}) vs PyTorch`, 'target',
  ];
  const rows: (string | number)[][] = [];
  const verdicts: string[] = [];
  for (const l of LAYERS) {
    const target = l.extra ? null : l.name.startsWith('ResNet-18') && !l.name.includes('stem') ? 0.9 : 2;
    for (const pass of PASSES) {
      const k = key(l, pass);
      const gf = (s: number): number => flops(l, pass) / s / 1e9;
      const mine = threadCounts.map((n) => gf(ours.get(n)!.get(k)!));
      const peer = peerBest.get(k);
      const ratio = peer ? mine[mine.length - 1] / gf(peer.seconds) : NaN;
      if (peer && pass === 'fwdbwd' && target !== null) verdicts.push(`${l.name}: ${fmt(ratio, 2)}x (target ${target}x, ${ratio >= target ? 'met' : 'not met'})`);
      rows.push([
        l.name, l.n, pass === 'fwd' ? 'forward, GFLOP/s' : 'forward + backward, GFLOP/s', ...mine.map((x) => fmt(x)),
        peer ? `${fmt(gf(peer.seconds))} (${threadsLabel(peer.threads)})` : '-', peer ? `${fmt(ratio, 2)}x` : '-', target === null ? '- (not in the issue)' : `≥ ${target}x`,
      ]);
    }
  }
  notes.push(
    'GFLOP/s = flops / median time (harness timeIt, each iteration in tf.tidy). Forward flops = 2·N·OC·OH·OW·(C/groups)·KH·KW; ' +
      'forward + backward = 3 × forward (input, weight and bias gradients; every layer\'s input requires grad, images included).',
  );
  if (torchVersion) {
    notes.push(
      `PyTorch ${torchVersion}: F.conv2d (oneDNN), the same shapes, forward under no_grad and forward + backward of a fixed random output ` +
        'gradient, at 1 and 2 threads each in its own process (kept running, asked for each layer right after ours); the table shows the faster.',
    );
  }
  notes.push(peerSettingsNote());
  if (verdicts.length > 0) notes.push(`forward + backward against the targets: ${verdicts.join('; ')}.`);
  if (QUICK) notes.push('TENSORFORGE_BENCH_QUICK=1: reduced batches and repeats, a smoke test only.');
  return { suite: 'conv', title: 'conv2d (float32), GFLOP/s, median', header, rows, notes };
}
