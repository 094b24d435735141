#!/usr/bin/env node
// Install step: use a prebuilt binary when one loads on this machine, otherwise build from
// source with cmake-js. Nothing is ever downloaded: prebuilds ship inside the package.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.join(__dirname, '..');

function prebuiltLoads() {
  if (process.env.TENSORFORGE_BUILD_FROM_SOURCE) return false;
  // Load in a child process so a binary that crashes on this CPU cannot take the install down.
  const probe = spawnSync(process.execPath, ['-e', `require('node-gyp-build')(${JSON.stringify(root)})`], {
    stdio: 'ignore',
  });
  return probe.status === 0;
}

if (prebuiltLoads()) {
  console.log('tensorforge: using the existing native binary');
  process.exit(0);
}
const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
const build = spawnSync(process.execPath, [cmakeJs, 'compile', '--out', 'build'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) {
  console.error('tensorforge: building the native addon failed. It needs cmake >= 3.18 and a C++17 compiler ' +
    '(Debian/Ubuntu: apt-get install cmake g++).');
  process.exit(build.status ?? 1);
}
