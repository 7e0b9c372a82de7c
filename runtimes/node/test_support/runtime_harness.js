// Test support: a Runtime on an in-memory platform (no fifos, no process exit), with the real
// vm module loader. Frames written by the runtime land in a FrameCollector.
//
// The same tests run on the browser runner's host too: runtimes/browser/test/core_runtime.test.js
// sets globalThis.POLYFLOW_TEST_HOST = { name: 'browser', loader(log) } before it imports them,
// and the harness then loads modules with the browser's loader instead (one process per test file).

import { Runtime } from '../../core/runtime.js';
import { createModuleLoader } from '../lib/module_loader.js';
import { FrameCollector } from './frame_collector.js';

/** 'node', or the name of the host a test file registered (see above). */
function testHost() {
  return globalThis.POLYFLOW_TEST_HOST ? globalThis.POLYFLOW_TEST_HOST.name : 'node';
}

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
    loadModule: globalThis.POLYFLOW_TEST_HOST
      ? globalThis.POLYFLOW_TEST_HOST.loader((moduleId, level, text) => harness.runtime.log(moduleId, level, text))
      : createModuleLoader({ run: (module, fn) => fn() }),
  });
  harness.runtime.start();
  return harness;
}

/** A module spec for configure, with one input "in" and one output "out" unless told. */
function moduleSpec(id, code, extra = {}) {
  return { id, code, config: {}, inputs: ['in'], outputs: ['out'], state: null, init: true, ...extra };
}

export { createHarness, moduleSpec, testHost };
