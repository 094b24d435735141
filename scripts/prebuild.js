#!/usr/bin/env node
// `npm run prebuild`: build the addon with cmake-js and place it where node-gyp-build looks for
// prebuilds (prebuilds/<platform>-<arch>/tensorforge.napi.node). prebuildify itself drives node-gyp
// only, so we follow its layout and naming by hand; `--strip` removes debug symbols like prebuildify.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const run = (cmd, args) => {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
run(process.execPath, [require.resolve('cmake-js/bin/cmake-js'), 'rebuild', '--out', 'build']);
const built = path.join(root, 'build', 'Release', 'tensorforge.node');
const dir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
fs.mkdirSync(dir, { recursive: true });
const dest = path.join(dir, 'tensorforge.napi.node');
fs.copyFileSync(built, dest);
if (process.argv.includes('--strip') || process.platform === 'linux') {
  spawnSync('strip', ['--strip-unneeded', dest], { stdio: 'inherit' });
}
console.log(`prebuild written to ${path.relative(root, dest)}`);
