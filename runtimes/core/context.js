// The `ctx` a module's functions receive (DESIGN.md, "The module API").

/**
 * Builds the ctx of `module`. send and log are own functions (not prototype methods), so
 * `const { send } = ctx` works. `log(moduleId, level, text)` emits a log frame;
 * `format(args)` joins log arguments into one text.
 */
function createContext(module, flowId, router, log, format) {
  return {
    state: module.initialState,
    config: module.config,
    flowId,
    moduleId: module.id,
    send(port, payload) {
      router.send(module, port, payload);
    },
    log(...args) {
      log(module.id, 'info', format(args));
    },
  };
}

export { createContext };
