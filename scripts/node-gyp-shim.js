#!/usr/bin/env node
// prebuildify drives a node-gyp binary (`node-gyp rebuild --target=... --arch=... --release`); our
// addon is built by cmake-js, so `npm run prebuild` hands prebuildify this stand-in
// (`--node-gyp scripts/node-gyp-shim.js`). It maps the arguments prebuildify passes onto cmake-js:
// the target version is irrelevant (Node-API 8, headers from node-api-headers), the arch is passed
// on, and the result lands in build/Release where prebuildify collects, strips and names it.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.join(__dirname, '..');
const args = process.argv.slice(2);
const command = args.find((a) => !a.startsWith('-'));
if (command !== 'rebuild' && command !== 'build') {
  console.error(`node-gyp-shim: only 'rebuild' and 'build' are supported (prebuildify's use), got ${JSON.stringify(args)}`);
  process.exit(2);
}
const cmakeArgs = [require.resolve('cmake-js/bin/cmake-js'), command === 'rebuild' ? 'rebuild' : 'compile', '--out', 'build'];
const arch = args.find((a) => a.startsWith('--arch='));
if (arch) cmakeArgs.push('--arch', arch.slice('--arch='.length));
if (args.includes('--debug')) cmakeArgs.push('--debug');
const r = spawnSync(process.execPath, cmakeArgs, { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
