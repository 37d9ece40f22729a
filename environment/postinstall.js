#!/usr/bin/env node
// Runs after `npm install`: links the compiled library as `repro` and builds the optional
// native BLAS matmul addon. Never fails the install: a missing compiler or BLAS only means
// the engine runs on its wasm kernels, and one line says so.
require('./link-lib.js');
const fs = require('fs');
const path = require('path');
const native = path.join(__dirname, 'build-native.js');
if (fs.existsSync(native)) require(native);
