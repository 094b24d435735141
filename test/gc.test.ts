// The garbage collector frees native memory of tensors nobody disposed (the safety net behind
// dispose/tidy/using), because storages are registered with a FinalizationRegistry and their bytes
// are reported to V8. Runs only where the test process has --expose-gc (vitest.config.ts sets it).
import { describe, expect, it } from 'vitest';
import * as tf from '../lib';

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
