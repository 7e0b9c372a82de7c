// The browser's module loader: compiles a module's code string (a `browser` module of the flow
// document, code inlined) as a CommonJS-shaped function body (exports, require, module, console),
// with the page's globals at hand. The browser counterpart of runtimes/node/lib/module_loader.js.
//
// Two compilations: `new Function` first, which parses the code as a function body (a stray `}`
// cannot escape the wrapper, and a SyntaxError is a load error), then one indirect eval of the
// wrapper written on the code's first line with `//# sourceURL=module:<id>`, so that the lines in
// stacks are the user's own and stack frames name the module. Both need a CSP that allows eval
// ('unsafe-eval'): module code comes as text in the `deploy`.

import { describeError, lineIn } from '../../core/error_text.js';
import { handlersOf } from '../../core/module_exports.js';

const PARAMS = ['exports', 'require', 'module', 'console'];

function noRequire(name) {
  throw new Error(`require(${JSON.stringify(name)}): a browser module cannot require; use the page's globals (fetch, document, ...)`);
}

/**
 * Returns a loadModule(module) for the core Runtime: { onMessage, init, onSwap } or { error, line }.
 * consoleFor(module) is the console the module's code sees; run(module, fn) runs the module body
 * on behalf of the module (log attribution).
 */
function createModuleLoader({ consoleFor, run }) {
  return function loadModule(module) {
    let body;
    try {
      // eslint-disable-next-line no-new-func
      new Function(...PARAMS, module.code); // syntax check only
      const source = `(function (${PARAMS.join(', ')}) {${module.code}\n})\n//# sourceURL=${module.filename}`;
      body = (0, eval)(source); // eslint-disable-line no-eval
    } catch (err) {
      return { error: describeError(err), line: lineIn(err, module.filename) };
    }
    const cjsModule = { exports: {}, id: module.filename, filename: module.filename, loaded: false };
    try {
      run(module, () => body.call(cjsModule.exports, cjsModule.exports, noRequire, cjsModule, consoleFor(module)));
    } catch (err) {
      return { error: describeError(err), line: lineIn(err, module.filename) };
    }
    cjsModule.loaded = true;
    return handlersOf(cjsModule.exports);
  };
}

export { createModuleLoader };
