// Node-only: the runtime's end of the `to-runtime` fifo, read without blocking the event loop.
// A net.Socket on the fifo's fd reads through libuv's pipe handle (epoll), which measured faster
// than fs.createReadStream (thread pool reads) on a fifo.

import fs from 'node:fs';
import net from 'node:net';

/**
 * Opens `path` for reading (the host holds the fifo open read-write, so this does not block)
 * and calls onChunk(buffer) for each chunk and onEnd() at end of input (the host closed it).
 * The returned socket owns the fd and closes it when destroyed.
 */
function openFifoInput(path, { onChunk, onEnd, onError }) {
  const fd = fs.openSync(path, fs.constants.O_RDONLY);
  const socket = new net.Socket({ fd, readable: true, writable: false });
  socket.on('data', onChunk);
  socket.on('end', onEnd);
  socket.on('error', onError);
  return socket;
}

export { openFifoInput };
