// Test support: a Runtime on an in-memory platform (no fifos, no process exit), with the real
// vm module loader. Frames written by the runtime land in a FrameCollector.

import { Runtime } from '../../core/runtime.js';
import { createModuleLoader } from '../lib/module_loader.js';
import { FrameCollector } from './frame_collector.js';

function createHarness({ maxFrameBytes } = {}) {
  const output = new FrameCollector();
  let pending = '';
  const harness = {
    output,
    exitCode: null,
    runtime: null,
    /** Sends frames (a string of lines) from the "host". */
    send(text) {
      harness.runtime.receive(Buffer.from(text, 'utf8'));
    },
    sendConfigure(configure) {
      harness.send(JSON.stringify({ t: 'configure', flowId: 'test', ...configure }) + '\n');
    },
    waitFor: (predicate, timeoutMs) => output.waitFor(predicate, timeoutMs),
    waitForAck: (count, timeoutMs) => output.waitForAck(count, timeoutMs),
  };
  harness.runtime = new Runtime({
    identity: { runtime: 'node', name: 'Node.js', version: process.versions.node, pid: process.pid },
    maxFrameBytes,
    write: (text) => {
      pending += text;
    },
    flush: () => {
      const text = pending;
      pending = '';
      if (text !== '') output.push(text);
    },
    exit: (code) => {
      harness.exitCode = code;
    },
    schedule: setImmediate,
    setTimer: (fn, ms) => setTimeout(fn, ms).unref(),
    clearTimer: clearTimeout,
    loadModule: createModuleLoader({ run: (module, fn) => fn() }),
  });
  harness.runtime.start();
  return harness;
}

/** A module spec for configure, with one input "in" and one output "out" unless told. */
function moduleSpec(id, code, extra = {}) {
  return { id, code, config: {}, inputs: ['in'], outputs: ['out'], state: null, init: true, ...extra };
}

export { createHarness, moduleSpec };
