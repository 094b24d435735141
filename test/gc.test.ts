// The garbage collector frees native memory of tensors nobody disposed (the safety net behind
// dispose/tidy/using), because storages are registered with a FinalizationRegistry and their bytes
// are reported to V8. Runs only where the test process has --expose-gc (vitest.config.ts sets it).
import { describe, expect, it } from 'vitest';
import * as tf from '../lib';
import { nurseryLength } from '../lib/memory';

const gc = (globalThis as { gc?: () => void }).gc;

describe.runIf(gc !== undefined)('garbage collection', () => {
  it('frees the native memory of unreachable tensors that were never disposed', async () => {
    const before = tf.memory();
    (() => {
      for (let i = 0; i < 50; i++) tf.ones([256, 256]).mul(2); // 50 x 2 x 256 KiB, all dropped
    })();
    expect(tf.memory().bytes - before.bytes).toBeGreaterThanOrEqual(100 * 256 * 1024);
    // FinalizationRegistry callbacks run after a GC, on a later turn of the event loop.
    for (let i = 0; i < 20 && tf.memory().bytes - before.bytes > 0; i++) {
      gc!();
      await new Promise((r) => setTimeout(r, 10));
    }
    const after = tf.memory();
    expect(after.bytes - before.bytes).toBeLessThan(256 * 1024);
    expect(after.tensors - before.tensors).toBeLessThan(2);
  });
});

// New tensors wait in a nursery before they are registered with the FinalizationRegistry
// (lib/memory.ts): disposing one there must take exactly it out, and every one left must reach the
// registry (when the nursery fills, holds too many elements, or the task ends) so the GC frees it.
describe('the nursery of unregistered tensors', () => {
  it('is registered when it fills, when it holds many elements, and at the end of the task', async () => {
    await Promise.resolve();
    expect(nurseryLength()).toBe(0);
    const kept: tf.Tensor[] = [];
    for (let i = 0; i < 1500; i++) kept.push(tf.zeros([2]));
    expect(nurseryLength()).toBeLessThan(1024);
    expect(nurseryLength()).toBeGreaterThan(0);
    kept.push(tf.zeros([1 << 24]));
    expect(nurseryLength()).toBe(0);
    kept.push(tf.zeros([3]));
    expect(nurseryLength()).toBe(1);
    await Promise.resolve();
    expect(nurseryLength()).toBe(0);
    tf.dispose(kept);
  });

  it.runIf(gc !== undefined)('frees every dropped tensor once, whatever order the others were disposed in', async () => {
    await Promise.resolve();
    const before = tf.memory();
    (() => {
      const ts = Array.from({ length: 300 }, (_, i) => tf.full([64 + (i % 7)], i));
      const views = ts.slice(0, 50).map((t) => t.reshape([-1]));
      // Dispose a shuffled half (the nursery swaps its last member into each hole), drop the rest.
      const order = [...ts.keys()].sort((a, b) => ((a * 7919) % 300) - ((b * 7919) % 300));
      for (const i of order.slice(0, 150)) ts[i].dispose();
      for (const v of views.slice(0, 25)) v.dispose();
      expect(tf.memory().tensors - before.tensors).toBe(150 + 25);
      // module.to() moves parameters to new storages while they are still in the nursery.
      new tf.nn.Linear(5, 3).to('float64');
    })();
    for (let i = 0; i < 20 && tf.memory().tensors - before.tensors > 0; i++) {
      gc!();
      await new Promise((r) => setTimeout(r, 10));
    }
    const after = tf.memory();
    expect(after.tensors - before.tensors).toBe(0);
    expect(after.bytes - before.bytes).toBe(0);
  });
});
