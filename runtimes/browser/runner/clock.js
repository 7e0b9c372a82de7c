// Time for the browser runner, injected so that tests drive it by hand (no real sleeps):
// now() in ms since 1970, setTimer/clearTimer for one-shot timers, schedule(fn) to run fn soon
// after the current task (what setImmediate is to the node runtime).

function defaultSchedule() {
  if (typeof MessageChannel === 'function') {
    // A message-channel task is not clamped like nested setTimeout(fn, 0) (≥ 4 ms).
    const channel = new MessageChannel();
    const queue = [];
    channel.port1.onmessage = () => queue.shift()();
    return (fn) => {
      queue.push(fn);
      channel.port2.postMessage(0);
    };
  }
  return (fn) => setTimeout(fn, 0);
}

function systemClock() {
  return {
    now: () => Date.now(),
    setTimer: (fn, ms) => setTimeout(fn, ms),
    clearTimer: (handle) => clearTimeout(handle),
    schedule: defaultSchedule(),
  };
}

export { systemClock };
