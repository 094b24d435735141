#!/usr/bin/env node
// `npm run prebuild`: prebuildify builds the addon for Node-API (through scripts/node-gyp-shim.js,
// which runs cmake-js) and writes prebuilds/<platform>-<arch>/tensorforge.napi.node, stripped,
// where node-gyp-build finds it. Extra arguments go to prebuildify (e.g. --arch arm64).
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.join(__dirname, '..');
const prebuildify = require.resolve('prebuildify/bin.js');
const args = [prebuildify, '--napi', '--strip', '--node-gyp', path.join(__dirname, 'node-gyp-shim.js'),
  ...process.argv.slice(2)];
const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
if (r.status !== 0) process.exit(r.status ?? 1);
