import { describe, expect, it } from 'vitest';
import * as tf from '../lib';

describe('smoke', () => {
  it('disposes with using', () => {
    const before = tf.memory().tensors;
    {
      using t = tf.ones([2, 2]);
      expect(t.sum().item()).toBe(4);
    }
    expect(tf.memory().tensors).toBeLessThanOrEqual(before + 1);
  });
});
