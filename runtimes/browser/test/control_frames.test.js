// An error's payload nested past what the dispatcher takes (512 levels inside a runner's message,
// docs/security.md "Deep JSON") is shown as a string, so a module's deep payload never costs the
// tab its connection.
import test from 'node:test';
import assert from 'node:assert';
import { nestsDeeper, MAX_VALUE_DEPTH, readControlFrame } from '../runner/control_frames.js';

function nested(n) {
  let v = 1;
  for (let i = 0; i < n; i++) v = [v];
  return v;
}

test('nesting is counted as the dispatcher counts it', () => {
  assert.strictEqual(MAX_VALUE_DEPTH, 512);
  assert.strictEqual(nestsDeeper(1, 0), false);
  assert.strictEqual(nestsDeeper([1], 0), true);
  assert.strictEqual(nestsDeeper(nested(512), 512), false);
  assert.strictEqual(nestsDeeper(nested(513), 512), true);
  assert.strictEqual(nestsDeeper({ a: { b: [1] } }, 2), true);
  assert.strictEqual(nestsDeeper({ a: '[[[[' }, 1), false);
});

test('an error with a too deep payload is emitted with a string in its place', () => {
  const emitted = [];
  const host = {
    env: { clock: { now: () => 1 } },
    records: new Map(),
    debugger: { failed() {} },
    emit: (e) => emitted.push(e),
  };
  readControlFrame(host, { t: 'error', module: 'm', port: 'in', payload: nested(600), message: 'boom', stack: null });
  readControlFrame(host, { t: 'error', module: 'm', port: 'in', payload: { ok: [1] }, message: 'boom', stack: null });
  assert.match(emitted[0].error.payload, /nested deeper than 512 levels/);
  assert.deepStrictEqual(emitted[1].error.payload, { ok: [1] });
});
