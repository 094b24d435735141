import * as path from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Node 20 has Symbol.dispose but no `using` syntax: have esbuild lower it.
  esbuild: { target: 'node20' },
  // Examples import the package by name; in tests that is the source in lib/ (one copy per process).
  resolve: { alias: { tensorforge: path.resolve(__dirname, 'lib/index.ts') } },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    // One worker: the native pool already uses every core.
    pool: 'forks',
    poolOptions: { forks: { singleFork: true, execArgv: ['--expose-gc'] } },
  },
});
