// `npm run bench [-- suite ...]`: runs the benchmark suites (all by default), prints each table and
// rewrites that suite's section of benchmarks/RESULTS.md, leaving the other sections as they were.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { markdownTable, type Section } from './harness';
import * as attention from './suites/attention';
import * as conv from './suites/conv';
import * as cuda from './suites/cuda';
import * as gpt from './suites/gpt';
import * as gemm from './suites/gemm';
import * as ops from './suites/ops';
import * as train from './suites/train';

const SUITES: Record<string, { run(): Section | Section[] }> = { ops, gemm, train, gpt, attention, conv, cuda };
// Former name of the gemm suite.
const ALIASES: Record<string, string> = { matmul: 'gemm' };

const RESULTS = path.join(__dirname, 'RESULTS.md');
const HEAD = `# Benchmark results

Written by \`npm run bench\` (each suite replaces its own section). Figures are medians after warm-up;
peers run in the same invocation (PyTorch under \`OMP_WAIT_POLICY=passive\` at the same thread count),
since these machines are shared and noisy: compare ratios within one table, not across runs.
`;

function render(s: Section, when: string): string {
  return [
    `<!-- suite:${s.suite} -->`,
    `## ${s.title}`,
    '',
    `Reproduce: \`npm run bench -- ${s.command ?? s.suite}\`. Run ${when}.`,
    '',
    markdownTable(s.header, s.rows),
    '',
    ...s.notes.map((n) => `- ${n}`),
    `<!-- end:${s.suite} -->`,
  ].join('\n');
}

function update(sections: Section[], when: string): void {
  let text = fs.existsSync(RESULTS) ? fs.readFileSync(RESULTS, 'utf8') : HEAD;
  for (const s of sections) {
    const block = render(s, when);
    const re = new RegExp(`<!-- suite:${s.suite} -->[\\s\\S]*?<!-- end:${s.suite} -->`);
    text = re.test(text) ? text.replace(re, block) : `${text.trimEnd()}\n\n${block}\n`;
  }
  fs.writeFileSync(RESULTS, text);
}

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-')).map((a) => ALIASES[a] ?? a);
const names = wanted.length > 0 ? wanted : Object.keys(SUITES);
for (const n of names) {
  if (!SUITES[n]) {
    console.error(`unknown suite '${n}' (have: ${Object.keys(SUITES).join(', ')})`);
    process.exit(2);
  }
}
const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
const when = `${new Date().toISOString().slice(0, 10)} on ${cpu}, ${os.cpus().length} cores, Node ${process.version}`;
const done: Section[] = [];
for (const n of names) {
  console.log(`\n== ${n} ==`);
  const result = SUITES[n].run();
  for (const s of Array.isArray(result) ? result : [result]) {
    console.log(markdownTable(s.header, s.rows));
    for (const note of s.notes) console.log(`- ${note}`);
    done.push(s);
  }
}
update(done, when);
console.log(`\nwrote ${path.relative(process.cwd(), RESULTS)}`);
