// What a loaded module exports, read the same way by every host (node's vm loader, the browser's
// Function loader): `exports.onMessage`/`exports.init`/`exports.onSwap`, or the short form
// `module.exports = (msg, ctx) => ...` (with `.init`/`.onSwap` on the function).

const NO_ON_MESSAGE = 'module exports no onMessage(msg, ctx) function';

/** { onMessage, init, onSwap } (init and onSwap null when absent), or { error, line: null }. */
function handlersOf(exported) {
  let onMessage;
  if (typeof exported === 'function') onMessage = exported;
  else if (exported !== null && typeof exported === 'object') onMessage = exported.onMessage;
  if (typeof onMessage !== 'function') return { error: NO_ON_MESSAGE, line: null };
  const { init, onSwap } = exported;
  return { onMessage, init: typeof init === 'function' ? init : null, onSwap: typeof onSwap === 'function' ? onSwap : null };
}

export { handlersOf, NO_ON_MESSAGE };
