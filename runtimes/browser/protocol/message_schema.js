// The shape of every control message of the runner protocol, one table per direction: for each
// `t` (and each command `op`, reply `kind`, event `type`) its fields in the order they are
// checked, each `[name, kind, optional]`. Read by runner_messages.js; unknown fields are ignored.

const F = (name, kind, optional = false) => [name, kind, optional];

const LEASES = 'leases'; // [{flow, module, gen}]

const runnerMessages = {
  hello: [F('protocol', 'int'), F('name', 'string'), F('instance', 'string'), F('runtimes', 'runtimes'),
    F('tags', 'strings'), F('modules', LEASES), F('token', 'string', true)],
  reply: [F('id', 'int'), F('reply', { tag: 'kind', of: 'replyKinds' })],
  event: [F('event', { tag: 'type', of: 'eventTypes' })],
  states: [F('flow', 'string'), F('modules', 'array')],
  ping: [F('n', 'int')],
  pong: [F('n', 'int')],
};

const dispatcherMessages = {
  welcome: [F('protocol', 'int'), F('runner', 'string'), F('session', 'int'), F('heartbeatMs', 'int'),
    F('lostAfterMs', 'int'), F('window', 'int'), F('maxFrameBytes', 'int'), F('maxMessageBytes', 'int'),
    F('drop', LEASES)],
  refused: [F('code', 'string'), F('message', 'string')],
  command: [F('id', 'int'), F('command', { tag: 'op', of: 'commandOps' })],
  ping: [F('n', 'int')],
  pong: [F('n', 'int')],
};

const flowOnly = [F('flow', 'string')];

const commandOps = {
  listRuntimes: [],
  deploy: [F('deploy', 'deploy')],
  routes: [F('flow', 'string'), F('routes', 'array')],
  fence: [F('modules', LEASES)],
  release: [F('modules', LEASES)],
  start: flowOnly, stop: flowOnly, remove: flowOnly, pause: flowOnly, resume: flowOnly,
  inject: [F('flow', 'string'), F('module', 'string'), F('port', 'string', true), F('payload', 'string')],
  status: [F('flow', 'string', true)],
  setBreakpoint: [F('flow', 'string'), F('breakpoint', 'object')],
  removeBreakpoint: [F('flow', 'string'), F('module', 'string')],
  step: [F('flow', 'string', true)],
  markStep: [F('flow', 'string', true)], // the first half of a step across runners; absent flow: every paused flow
};

/**
 * The fields of `deploy.deploy` (as RemoteDeploy decodes them: routes, breakpoints, revision, start optional;
 * handedOver: the modules whose old place, a live runner, finished and released them).
 */
const deployFields = [F('flow', 'object'), F('placed', 'array'), F('routes', 'array', true), F('breakpoints', 'array', true),
  F('revision', 'int', true), F('start', 'bool', true), F('handedOver', 'strings', true)];

const replyKinds = {
  ok: [],
  failure: [F('code', 'string'), F('message', 'string')],
  bool: [F('value', 'bool')],
  runtimes: [F('runtimes', 'array')],
  status: [F('flows', 'json')],
  step: [F('result', 'object')],
  released: [F('states', 'array')], // [{module, state}]: the modules a deploy took off this runner, drained
};

const eventTypes = {
  output: [F('flow', 'string'), F('module', 'string'), F('port', 'string'), F('payload', 'string')],
  error: [F('flow', 'string'), F('module', 'string'), F('error', 'object')],
  log: [F('flow', 'string'), F('module', 'string', true), F('runtime', 'string'), F('record', 'object')],
  flowState: [F('flow', 'string'), F('state', 'string'), F('reason', 'string', true)],
  instanceState: [F('flow', 'string'), F('runtime', 'string'), F('state', 'string'), F('pid', 'int', true),
    F('restarts', 'int'), F('reason', 'string', true)],
  paused: [F('flow', 'string'), F('module', 'string', true), F('port', 'string', true), F('payload', 'string', true)],
  stepped: [F('flow', 'string'), F('result', 'object')],
  resumed: [F('flow', 'string')],
  swapped: [F('flow', 'string'), F('revision', 'int', true), F('changed', 'strings'), F('added', 'strings'),
    F('removed', 'strings'), F('moved', 'strings')],
};

const tagged = { commandOps, replyKinds, eventTypes };

export { runnerMessages, dispatcherMessages, deployFields, tagged };
