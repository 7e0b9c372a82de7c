// The shared core's Runtime tests (runtimes/node/test/runtime.test.js and commit.test.js) run
// again here with the browser runner's module loader and console capture in place of node's
// vm loader: one core, its tests on both hosts.
import { createModuleLoader } from '../runner/module_loader.js';
import { ConsoleCapture } from '../runner/console_capture.js';
import { formatArgs } from '../../core/format_args.js';

const silent = { log() {}, info() {}, debug() {}, warn() {}, error() {}, trace() {} };

globalThis.POLYFLOW_TEST_HOST = {
  name: 'browser',
  loader(log) {
    const capture = new ConsoleCapture(formatArgs, silent);
    return createModuleLoader({ consoleFor: (m) => capture.consoleFor(m, log), run: (m, fn) => capture.run(m, log, fn) });
  },
};

await import('../../node/test/runtime.test.js');
await import('../../node/test/commit.test.js');
