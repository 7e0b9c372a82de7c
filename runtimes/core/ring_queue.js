// A FIFO on a growable circular array: O(1) push/shift, no Array#shift copying, no per-item allocation.

const INITIAL_CAPACITY = 16; // a power of two; capacity only ever doubles

class RingQueue {
  constructor() {
    this.items = new Array(INITIAL_CAPACITY);
    this.mask = INITIAL_CAPACITY - 1;
    this.head = 0;
    this.length = 0;
  }

  push(value) {
    if (this.length === this.items.length) this.grow();
    this.items[(this.head + this.length) & this.mask] = value;
    this.length++;
  }

  shift() {
    if (this.length === 0) return undefined;
    const value = this.items[this.head];
    this.items[this.head] = undefined; // let the value be collected
    this.head = (this.head + 1) & this.mask;
    this.length--;
    return value;
  }

  peek() {
    return this.length === 0 ? undefined : this.items[this.head];
  }

  /** The item at position `index` from the front (0 = next to shift). */
  get(index) {
    return this.items[(this.head + index) & this.mask];
  }

  set(index, value) {
    this.items[(this.head + index) & this.mask] = value;
  }

  grow() {
    const old = this.items;
    const items = new Array(old.length * 2);
    for (let i = 0; i < this.length; i++) items[i] = old[(this.head + i) & this.mask];
    this.items = items;
    this.mask = items.length - 1;
    this.head = 0;
  }
}

export { RingQueue };
