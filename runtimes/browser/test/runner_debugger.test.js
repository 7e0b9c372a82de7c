// The debugger on browser modules: a conditional breakpoint pauses the flow, a step returns
// {"flow/module": {inputStates, outputStates, errors, state}}, resume runs on to the next hit.
import test from 'node:test';
import assert from 'node:assert';
import { startRunner, browserModule, deployCommand } from '../test_support/runner_harness.js';

const FLOW = {
  id: 'f',
  modules: [
    browserModule('a', 'module.exports = (msg, ctx) => { ctx.state.seen = (ctx.state.seen || 0) + 1; return { n: msg.payload.n }; };'),
    browserModule('b', 'module.exports = (msg, ctx) => { if (msg.payload.n === 3) throw new Error("three"); ctx.state.last = msg.payload.n; return msg.payload.n * 10; };'),
  ],
  connections: [{ from: 'a.out', to: 'b.in' }],
};

async function started() {
  const h = startRunner();
  await h.welcome();
  await h.command(deployCommand(FLOW, ['a', 'b']));
  return h;
}

const outputs = (h) => h.socket.events('output').map((e) => e.payload);

test('a conditional breakpoint pauses the flow on a match only, with a paused event naming the message', async () => {
  const h = await started();
  assert.deepStrictEqual(await h.command({ op: 'setBreakpoint', flow: 'f', breakpoint: { module: 'b', condition: { pointer: '/n', equals: 2 } } }), { kind: 'ok' });
  for (const n of [1, 2, 3]) await h.command({ op: 'inject', flow: 'f', module: 'a', payload: JSON.stringify({ n }) });
  assert.deepStrictEqual(outputs(h), ['10']);
  assert.deepStrictEqual(h.socket.events('paused'), [{ type: 'paused', module: 'b', port: 'in', payload: '{"n":2}', flow: 'f' }]);
  const status = (await h.command({ op: 'status', flow: 'f' })).flows[0];
  assert.strictEqual(status.state, 'paused');
  assert.deepStrictEqual(status.breakpoints, [{ module: 'b', condition: { pointer: '/n', equals: 2 } }]);
  assert.deepStrictEqual(status.modules.map((m) => [m.id, m.queued, m.queuedPayloads]), [['a', 1, [{ n: 3 }]], ['b', 1, [{ n: 2 }]]]);
  assert.deepStrictEqual(status.pausedAt, { module: 'b', port: 'in', payload: { n: 2 } });
});

test('a step runs the oldest held message of each module and reports inputs, outputs, errors and state', async () => {
  const h = await started();
  await h.command({ op: 'setBreakpoint', flow: 'f', breakpoint: { module: 'b' } });
  await h.command({ op: 'inject', flow: 'f', module: 'a', payload: '{"n":3}' });
  await h.command({ op: 'inject', flow: 'f', module: 'a', payload: '{"n":4}' });
  // b holds {n:3} (breakpoint); a holds {n:4}
  const step = await h.command({ op: 'step', flow: 'f' });
  assert.strictEqual(step.kind, 'step');
  assert.deepStrictEqual(Object.keys(step.result).sort(), ['f/a', 'f/b']);
  assert.deepStrictEqual(step.result['f/a'], { inputStates: { in: { n: 4 } }, outputStates: { out: [{ n: 4 }] }, errors: [], state: { seen: 2 } });
  const b = step.result['f/b'];
  assert.deepStrictEqual(b.inputStates, { in: { n: 3 } });
  assert.deepStrictEqual(b.outputStates, {});
  assert.strictEqual(b.errors[0].message, 'Error: three');
  assert.match(b.errors[0].stack, /module:b:1:/);
  assert.deepStrictEqual(b.state, {});
  assert.deepStrictEqual(outputs(h), [], 'what the step emitted is held, not processed');
  assert.deepStrictEqual(h.socket.events('stepped')[0].result, step.result);
  const next = await h.command({ op: 'step', flow: 'f' });
  assert.deepStrictEqual(next.result['f/b'], { inputStates: { in: { n: 4 } }, outputStates: { out: [40] }, errors: [], state: { last: 4 } });
});

test('resume runs on: held messages are delivered, and a held one at a breakpoint pauses again', async () => {
  const h = await started();
  await h.command({ op: 'setBreakpoint', flow: 'f', breakpoint: { module: 'b', condition: { pointer: '/n', exists: true } } });
  await h.command({ op: 'inject', flow: 'f', module: 'a', payload: '{"n":1}' });
  await h.command({ op: 'inject', flow: 'f', module: 'a', payload: '{"n":2}' });
  assert.deepStrictEqual(await h.command({ op: 'resume', flow: 'f' }), { kind: 'bool', value: true });
  assert.deepStrictEqual(h.socket.events('resumed').length, 1);
  assert.deepStrictEqual(outputs(h), ['10'], 'n:1 ran; n:2 stopped at the breakpoint again');
  assert.deepStrictEqual(h.socket.events('paused').map((e) => e.payload), ['{"n":1}', '{"n":2}']);
  assert.deepStrictEqual(await h.command({ op: 'removeBreakpoint', flow: 'f', module: 'b' }), { kind: 'bool', value: true });
  assert.deepStrictEqual(await h.command({ op: 'removeBreakpoint', flow: 'f', module: 'b' }), { kind: 'bool', value: false });
  assert.deepStrictEqual(await h.command({ op: 'resume', flow: 'f' }), { kind: 'bool', value: true });
  assert.deepStrictEqual(outputs(h), ['10', '20']);
  assert.deepStrictEqual(await h.command({ op: 'resume', flow: 'f' }), { kind: 'bool', value: false });
  await h.command({ op: 'inject', flow: 'f', module: 'a', payload: '{"n":5}' });
  assert.deepStrictEqual(outputs(h), ['10', '20', '50'], 'no breakpoint left: direct calls again');
});

test('pause holds everything; a step of a running flow pauses it first; an empty step is {}', async () => {
  const h = await started();
  assert.deepStrictEqual(await h.command({ op: 'step', flow: 'f' }), { kind: 'step', result: {} });
  assert.strictEqual(h.runner.hosts.get('f').state, 'paused');
  await h.command({ op: 'inject', flow: 'f', module: 'a', payload: '{"n":1}' });
  assert.deepStrictEqual(outputs(h), []);
  const step = await h.command({ op: 'step' }); // every paused flow
  assert.deepStrictEqual(Object.keys(step.result), ['f/a']);
  await h.command({ op: 'resume', flow: 'f' });
  assert.deepStrictEqual(outputs(h), ['10']);
});

test('a bad condition is refused naming the field; a breakpoint on an unknown module too', async () => {
  const h = await started();
  const bad = await h.command({ op: 'setBreakpoint', flow: 'f', breakpoint: { module: 'b', condition: { pointer: 'n', equals: 1 } } });
  assert.strictEqual(bad.code, 'bad-condition');
  assert.match(bad.message, /condition\.pointer: "n" is not a JSON Pointer/);
  assert.strictEqual((await h.command({ op: 'setBreakpoint', flow: 'f', breakpoint: { module: 'zz' } })).code, 'unknown-module');
});

test('the breakpoints of a deploy are the flow\'s: set on the first, replaced on the next', async () => {
  const h = startRunner();
  await h.welcome();
  await h.command(deployCommand(FLOW, ['a', 'b'], [], { breakpoints: [{ module: 'b' }] }));
  assert.deepStrictEqual((await h.command({ op: 'status', flow: 'f' })).flows[0].breakpoints, [{ module: 'b' }]);
  await h.command(deployCommand(FLOW, ['a', 'b'], [], { breakpoints: [{ module: 'a', condition: { pointer: '/n', equals: 9 } }] }));
  assert.deepStrictEqual((await h.command({ op: 'status', flow: 'f' })).flows[0].breakpoints, [{ module: 'a', condition: { pointer: '/n', equals: 9 } }]);
  await h.command({ op: 'inject', flow: 'f', module: 'a', payload: '{"n":1}' });
  assert.deepStrictEqual(outputs(h), ['10']);
});
