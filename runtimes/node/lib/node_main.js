// Node-only: wires the platform-neutral Runtime to the fifos, the vm module loader, console
// capture, timers and the process. Started by polyflow_runtime.js.

import fs from 'node:fs';
import util from 'node:util';
import { Runtime } from '../../core/runtime.js';
import { DEFAULT_MAX_FRAME_BYTES } from '../../core/framing.js';
import { FifoOutput } from './fifo_output.js';
import { openFifoInput } from './fifo_input.js';
import { LogCapture } from './log_capture.js';
import { createModuleLoader } from './module_loader.js';
import { startParentWatch } from './parent_watch.js';
import { describeError, stackOf } from '../../core/error_text.js';

const USAGE = 'usage: node polyflow_runtime.js --in FIFO_IN --out FIFO_OUT';
const EXIT_USAGE = 64;

/** { in, out } from `--in PATH --out PATH` (or --in=PATH); throws a readable Error. */
function parseArgs(argv) {
  const paths = {};
  for (let i = 0; i < argv.length; i++) {
    const match = /^--(in|out)(?:=(.*))?$/.exec(argv[i]);
    if (!match) throw new Error(`unknown argument ${JSON.stringify(argv[i])}`);
    const value = match[2] !== undefined ? match[2] : argv[++i];
    if (!value) throw new Error(`--${match[1]} needs a path`);
    paths[match[1]] = value;
  }
  if (!paths.in || !paths.out) throw new Error('both --in and --out are required');
  return paths;
}

function maxFrameBytesFrom(env) {
  const value = env.POLYFLOW_MAX_FRAME_BYTES;
  if (value === undefined || value === '') return DEFAULT_MAX_FRAME_BYTES;
  const bytes = Number(value);
  if (!Number.isInteger(bytes) || bytes < 1) throw new Error(`POLYFLOW_MAX_FRAME_BYTES is not a positive integer: ${value}`);
  return bytes;
}

const utf8Slice = Buffer.prototype.utf8Slice;
const decodeText = typeof utf8Slice === 'function' ? (bytes, start, end) => utf8Slice.call(bytes, start, end) : undefined;

function main(argv) {
  let paths;
  let maxFrameBytes;
  try {
    paths = parseArgs(argv);
    maxFrameBytes = maxFrameBytesFrom(process.env);
  } catch (err) {
    process.stderr.write(`polyflow node runtime: ${err.message}\n${USAGE}\n`);
    process.exit(EXIT_USAGE);
  }
  startParentWatch();

  // The host holds both fifos open read-write, so neither open blocks.
  const output = new FifoOutput(fs.openSync(paths.out, fs.constants.O_WRONLY), {
    onBroken: () => process.exit(0), // the host stopped reading: it is gone
  });
  let runtime = null;
  const capture = new LogCapture((moduleId, level, text) => runtime.log(moduleId, level, text));

  runtime = new Runtime({
    identity: { runtime: 'node', name: 'Node.js', version: process.versions.node, pid: process.pid },
    maxFrameBytes,
    decodeText,
    format: (args) => util.format(...args),
    write: (text) => output.write(text),
    flush: () => output.flush(),
    exit: (code) => {
      output.flush();
      process.exit(code);
    },
    schedule: setImmediate,
    setTimer: (fn, ms) => setTimeout(fn, ms).unref(),
    clearTimer: clearTimeout,
    loadModule: createModuleLoader({ run: (module, fn) => capture.run(module, fn) }),
    invoke: capture.invoke,
  });

  capture.install();
  process.on('uncaughtException', (err) => {
    runtime.log(capture.currentModuleId(), 'error', `uncaught exception: ${stackOf(err) || describeError(err)}`);
  });
  process.on('unhandledRejection', (reason) => {
    runtime.log(capture.currentModuleId(), 'error', `unhandled promise rejection: ${stackOf(reason) || describeError(reason)}`);
  });

  openFifoInput(paths.in, {
    onChunk: (chunk) => runtime.receive(chunk),
    onEnd: () => runtime.end(),
    onError: (err) => {
      runtime.log(null, 'error', `reading ${paths.in} failed: ${err.message}`);
      runtime.end();
    },
  });
  runtime.start();
}

export { main, parseArgs };
