// DebugStateMachine against every case of Tests/Fixtures/vectors/debug.json (the file the Swift
// DebugStateMachineVectorTests read too). The machine's own shapes are the vectors' neutral form.
import test from 'node:test';
import assert from 'node:assert';
import { DebugStateMachine } from '../runner/debug_state_machine.js';
import { loadVectors } from '../test_support/vectors.js';

const vectors = loadVectors('debug');

/** Carries out one step; returns what the machine answered, in the vectors' form. */
function apply(machine, step) {
  switch (step.do) {
    case 'breakpointsChanged': return { action: machine.breakpointsChanged(step.count) };
    case 'arrived': return { arrival: machine.arrived(step.stopsHere) };
    case 'pause': return { action: machine.pause() };
    case 'step': return { decision: machine.step(step.hasQueued) };
    case 'stepFinished': machine.stepFinished(); return {};
    case 'resume': return { action: machine.resume() };
    default: throw new Error(`debug vectors: unknown event "${step.do}"`);
  }
}

test('the debug vectors have cases', () => {
  assert.ok(vectors.cases.length >= 10);
});

for (const vector of vectors.cases) {
  test(`debug vector: ${vector.name}`, () => {
    const machine = new DebugStateMachine();
    vector.steps.forEach((step, i) => {
      const where = `step ${i} (${step.do})`;
      const answer = apply(machine, step);
      for (const key of ['action', 'arrival', 'decision']) {
        if (key in step || key in answer) assert.deepStrictEqual(answer[key], step[key], where);
      }
      if ('mode' in step) assert.strictEqual(machine.mode, step.mode, where);
      if ('holding' in step) assert.strictEqual(machine.isHoldingMessages, step.holding, where);
    });
  });
}
