// Constants of runner protocol version 1 (docs/runner-protocol.md). The bounds a dispatcher
// gives in `welcome` win over these defaults.

export const PROTOCOL_VERSION = 1;
export const RUNNERS_PATH = '/runners';
export const DEFAULT_HEARTBEAT_MS = 1000;
export const DEFAULT_LOST_AFTER_MS = 3000;
export const DEFAULT_WINDOW = 1024;
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;
export const DEFAULT_MAX_MESSAGE_BYTES = DEFAULT_MAX_FRAME_BYTES + 64 * 1024;
export const HELLO_MAX_BYTES = 64 * 1024;
export const BATCH_TARGET_BYTES = 64 * 1024;
export const MAX_HEADER_LINE_BYTES = 512;
export const MAX_REFUSALS = 16; // refused frames listed in one batch header (more go in the next batch)
export const RUNTIME_IDS = Object.freeze(['python3', 'node', 'browser']);
export const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
