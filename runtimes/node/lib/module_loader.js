// Node-only: compiles a module's code string with vm as a CommonJS function body
// (exports, require, module, __filename, __dirname), so line numbers are the user's own.
// compileFunction parses the code as a function body: a stray `}` cannot escape a wrapper.

import vm from 'node:vm';
import path from 'node:path';
import { createRequire } from 'node:module';
import { describeError, lineIn } from '../../core/error_text.js';

const WRAPPER_PARAMS = ['exports', 'require', 'module', '__filename', '__dirname'];
const NO_ON_MESSAGE = 'module exports no onMessage(msg, ctx) function';

/**
 * Returns a loadModule(module) for the Runtime: { onMessage, init, onSwap } or { error, line }.
 * `run(module, fn, thisArg, args)` runs the module body on behalf of the module (log attribution).
 * `require` resolves like a file in `baseDir`, so Node built-ins (and packages there) work.
 */
function createModuleLoader({ run, baseDir = process.cwd() }) {
  return function loadModule(module) {
    let body;
    try {
      body = vm.compileFunction(module.code, WRAPPER_PARAMS, { filename: module.filename });
    } catch (err) {
      return { error: describeError(err), line: lineIn(err, module.filename) };
    }
    const cjsModule = { exports: {}, id: module.filename, filename: module.filename, loaded: false };
    const moduleRequire = createRequire(path.join(baseDir, `${module.id}.polyflow-module.js`));
    try {
      run(module, () => body.call(cjsModule.exports, cjsModule.exports, moduleRequire, cjsModule, module.filename, baseDir));
    } catch (err) {
      return { error: describeError(err), line: lineIn(err, module.filename) };
    }
    cjsModule.loaded = true;
    return handlersOf(cjsModule.exports);
  };
}

/**
 * `exports.onMessage`/`exports.init`/`exports.onSwap`, or the short form
 * `module.exports = (msg, ctx) => ...` (with `.init`/`.onSwap` on the function).
 */
function handlersOf(exported) {
  let onMessage;
  if (typeof exported === 'function') onMessage = exported;
  else if (exported !== null && typeof exported === 'object') onMessage = exported.onMessage;
  if (typeof onMessage !== 'function') return { error: NO_ON_MESSAGE, line: null };
  const { init, onSwap } = exported;
  return { onMessage, init: typeof init === 'function' ? init : null, onSwap: typeof onSwap === 'function' ? onSwap : null };
}

export { createModuleLoader, NO_ON_MESSAGE };
