// The package as a consumer sees it: `require('tensorforge')` and `import 'tensorforge'` by name
// from another folder, with type declarations, and the README's example running as written.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = path.join(__dirname, '..');
let consumer: string;

function node(args: string[], cwd: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, args, { cwd, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  if (!fs.existsSync(path.join(root, 'dist', 'index.js'))) {
    throw new Error('dist/ is missing: run `npm run build:ts` (npm install does it through the prepare script)');
  }
  consumer = fs.mkdtempSync(path.join(os.tmpdir(), 'tensorforge-consumer-'));
  fs.mkdirSync(path.join(consumer, 'node_modules'));
  fs.symlinkSync(root, path.join(consumer, 'node_modules', 'tensorforge'), 'dir');
});
afterAll(() => {
  if (consumer) fs.rmSync(consumer, { recursive: true, force: true });
});

describe('package', () => {
  it('works through require()', () => {
    const r = node(['-e', "const tf = require('tensorforge'); console.log(tf.ones([2, 3]).sum().item())"], consumer);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('6');
  });

  it('works through import, with named and default exports sharing one instance', () => {
    const code =
      "import tf, { tensor, Tensor } from 'tensorforge';" +
      "import { createRequire } from 'node:module';" +
      "const req = createRequire(import.meta.url)('tensorforge');" +
      'const t = tensor([1, 2, 3]).mul(2);' +
      "console.log(t.toString(), t instanceof req.Tensor, tf.Tensor === Tensor, typeof tf.var === 'function');";
    const r = node(['--input-type=module', '-e', code], consumer);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('tensor([2., 4., 6.]) true true true');
  });

  it('ships type declarations for every entry point', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
    const entry = pkg.exports['.'];
    for (const file of [entry.types, entry.import, entry.require]) {
      expect(fs.existsSync(path.join(root, file)), file).toBe(true);
    }
    const dts = fs.readFileSync(path.join(root, entry.types), 'utf8');
    expect(dts).toContain('export { Tensor');
  });

  it("README's examples are the files in examples/ and print what PyTorch prints", () => {
    const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
    const tsx = path.join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs');
    const run = (file: string): string => {
      const source = fs.readFileSync(path.join(root, 'examples', file), 'utf8').trim();
      expect(readme, `README.md must contain examples/${file} verbatim`).toContain(source);
      const r = node([tsx, path.join(root, 'examples', file)], root);
      expect(r.stderr).toBe('');
      return r.stdout;
    };
    // PyTorch 1.13 prints the same numbers for the same program.
    expect(run('autograd.ts')).toBe(
      'tensor(-1.8918, gradFn=<SumBackward>)\n' +
        'tensor([[ 0.0904, -0.1807],\n        [ 0.0133, -0.0266]])\n' +
        'tensor([[0.2605],\n        [0.4678]])\n',
    );
    // The custom nn.Module example: Adam brings the loss down by an order of magnitude.
    const losses = [...run('custom_module.ts').matchAll(/loss (\d+\.\d+)/g)].map((m) => Number(m[1]));
    expect(losses).toHaveLength(5);
    expect(losses[4]).toBeLessThan(losses[0] / 5);
    const numbers = (run('linear_regression.ts').match(/-?\d+\.\d+/g) ?? []).map(Number);
    expect(numbers).toHaveLength(4);
    const [w0, w1, w2, b] = numbers;
    expect(Math.abs(w0 - 2)).toBeLessThan(0.01);
    expect(Math.abs(w1 + 1)).toBeLessThan(0.01);
    expect(Math.abs(w2 - 0.5)).toBeLessThan(0.01);
    expect(Math.abs(b - 0.1)).toBeLessThan(0.01);
  });
});
