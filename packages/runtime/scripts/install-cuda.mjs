#!/usr/bin/env node
// Installs the CUDA 12 execution provider for onnxruntime-node (pnpm cuda:install).
// The npm package ships CPU only; its own install script fetches the CUDA provider libraries
// (libonnxruntime_providers_cuda.so and friends) next to the native binding. This runs that
// script for the onnxruntime-node that @lookout/runtime resolves, then checks the result.
//   node packages/runtime/scripts/install-cuda.mjs [--dry-run]
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const runtimeDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(runtimeDir, 'package.json'));

function packageRoot(name) {
  let dir = path.dirname(require.resolve(name));
  while (dir !== path.dirname(dir)) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg) && JSON.parse(readFileSync(pkg, 'utf8')).name === name) return dir;
    dir = path.dirname(dir);
  }
  throw new Error(`could not find the package root of ${name} from ${runtimeDir}`);
}

if (process.platform !== 'linux' || process.arch !== 'x64') {
  console.error(`The CUDA provider for onnxruntime-node is published for linux/x64 only; this is ${process.platform}/${process.arch}.`);
  process.exit(1);
}

const ortDir = packageRoot('onnxruntime-node');
const script = path.join(ortDir, 'script', 'install.js');
const bindingDir = path.join(ortDir, 'bin', 'napi-v6', process.platform, process.arch);
const provider = path.join(bindingDir, 'libonnxruntime_providers_cuda.so');
const args = [script, '--onnxruntime-node-install=cuda12'];

if (!existsSync(script)) {
  console.error(`onnxruntime-node at ${ortDir} has no script/install.js; reinstall it (pnpm install).`);
  process.exit(1);
}
console.log(`onnxruntime-node: ${ortDir}`);
console.log(`running: ${process.execPath} ${args.join(' ')}`);
if (process.argv.includes('--dry-run')) process.exit(0);

const run = spawnSync(process.execPath, args, { cwd: ortDir, stdio: 'inherit' });
if (run.status !== 0) {
  console.error(`onnxruntime-node's installer failed (exit ${run.status ?? run.signal}). It downloads from api.nuget.org; check network access or proxy settings (GLOBAL_AGENT_HTTPS_PROXY).`);
  process.exit(run.status ?? 1);
}
if (!existsSync(provider)) {
  console.error(`The installer finished but ${provider} is missing. It downloads Microsoft.ML.OnnxRuntime.Gpu.Linux from api.nuget.org; check network access or proxy settings (GLOBAL_AGENT_HTTPS_PROXY) and run it again.`);
  process.exit(1);
}
console.log(`CUDA provider installed: ${provider}`);
console.log('It also needs the CUDA 12 runtime and cuDNN 9 libraries on the library path (LD_LIBRARY_PATH).');
