// LinkStateMachine against every case of Tests/Fixtures/vectors/link.json (the file the Swift
// DispatcherLinkStateMachineVectorTests read too). The machine's action names are the vectors'.
import test from 'node:test';
import assert from 'node:assert';
import { LinkStateMachine } from '../runner/link_state_machine.js';
import { loadVectors } from '../test_support/vectors.js';

const vectors = loadVectors('link');

function apply(machine, step) {
  switch (step.do) {
    case 'start': return machine.start();
    case 'connected': return machine.connected();
    case 'welcomed': return machine.welcomed(step.welcome, step.at);
    case 'refused': return machine.refused(step.refusal);
    case 'heard': return machine.heard(step.at);
    case 'tick': return machine.tick(step.at);
    case 'disconnected': return machine.disconnected(step.at);
    case 'retryTimerFired': return machine.retryTimerFired();
    default: throw new Error(`link vectors: unknown event "${step.do}"`);
  }
}

/** The actions as the vectors give them: a reason only where the expected action has one. */
function comparable(actions, expected) {
  return actions.map((action, i) => {
    if (expected[i] !== undefined && !('reason' in expected[i]) && 'reason' in action) {
      const { reason, ...rest } = action;
      return rest;
    }
    return action;
  });
}

test('the link vectors have cases', () => {
  assert.ok(vectors.cases.length >= 10);
});

for (const vector of vectors.cases) {
  test(`link vector: ${vector.name}`, () => {
    const machine = new LinkStateMachine(0, vector.policy || {});
    vector.steps.forEach((step, i) => {
      const where = `step ${i} (${step.do}${step.at === undefined ? '' : ` at ${step.at}`})`;
      const actions = apply(machine, step);
      assert.deepStrictEqual(comparable(actions, step.actions), step.actions, where);
      if ('link' in step) assert.strictEqual(machine.link, step.link, where);
      if ('session' in step) assert.strictEqual(machine.session, step.session, where);
      if ('attempt' in step) assert.strictEqual(machine.attempt, step.attempt, where);
      if ('modules' in step) assert.strictEqual(machine.modules, step.modules, where);
      if ('heldSince' in step) assert.strictEqual(machine.heldSince, step.heldSince, where);
    });
  });
}
