// Node-only: compiles a module's code string with vm as a CommonJS function body
// (exports, require, module, __filename, __dirname), so line numbers are the user's own.
// compileFunction parses the code as a function body: a stray `}` cannot escape a wrapper.

import vm from 'node:vm';
import path from 'node:path';
import { createRequire } from 'node:module';
import { describeError, lineIn } from '../../core/error_text.js';
import { handlersOf, NO_ON_MESSAGE } from '../../core/module_exports.js';

const WRAPPER_PARAMS = ['exports', 'require', 'module', '__filename', '__dirname'];

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

export { createModuleLoader, NO_ON_MESSAGE };
