// The errors of the runner protocol (docs/runner-protocol.md), with the stable codes the shared
// vectors name: bad-json, unknown-type, missing-field, bad-field, message-too-large for control
// messages; bad-magic, unsupported-version, bad-batch-header, bad-frame-header, empty-payload,
// frame-too-large, truncated, bad-frame-end for data batches.

class RunnerProtocolError extends Error {
  /** code: one of the codes above; message: one line naming the place (field, byte offset). */
  constructor(code, message) {
    super(`${code}: ${message}`);
    this.name = 'RunnerProtocolError';
    this.code = code;
  }
}

export { RunnerProtocolError };
