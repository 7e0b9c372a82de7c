// A hand-driven clock for the browser runner's tests: timers fire only in advance(), scheduled
// tasks only in settle(). No test waits on real time.

class FakeClock {
  constructor(start = 1764163200000) {
    this.time = start;
    this.timers = [];
    this.tasks = [];
    this.nextId = 1;
    this.now = () => this.time;
    this.setTimer = (fn, ms) => {
      const timer = { id: this.nextId++, at: this.time + ms, fn };
      this.timers.push(timer);
      return timer.id;
    };
    this.clearTimer = (id) => { this.timers = this.timers.filter((t) => t.id !== id); };
    this.schedule = (fn) => { this.tasks.push(fn); };
  }

  /** Runs scheduled tasks and lets promise callbacks run, until nothing is left to do. */
  async settle() {
    for (let round = 0; round < 1000; round++) {
      await new Promise((resolve) => setImmediate(resolve)); // promise jobs of handlers, replies
      if (this.tasks.length === 0) return;
      const tasks = this.tasks;
      this.tasks = [];
      for (const task of tasks) task();
    }
    throw new Error('FakeClock.settle: still busy after 1000 rounds');
  }

  /** Moves time on by `ms`, firing each timer due on the way at its own time. */
  async advance(ms) {
    const end = this.time + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (due === undefined) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.time = Math.max(this.time, due.at);
      due.fn();
      await this.settle();
    }
    this.time = end;
    await this.settle();
  }
}

export { FakeClock };
