const initialSlots = 1024;

/**
 * FIFO ring buffer with a hard capacity. `push` is O(1) amortised and refuses items once full, so
 * memory never exceeds `capacity` references; slots grow on demand up to the capacity so an idle
 * gateway does not hold a 50 000-slot array.
 */
export class BoundedQueue<T> {
  readonly capacity: number;
  #slots: (T | undefined)[];
  #head = 0;
  #size = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError('capacity must be a positive integer');
    this.capacity = capacity;
    this.#slots = new Array(Math.min(capacity, initialSlots));
  }

  get size(): number {
    return this.#size;
  }

  /** Appends at the tail; false (and nothing stored) when the queue is full. */
  push(item: T): boolean {
    if (this.#size === this.capacity) return false;
    if (this.#size === this.#slots.length) this.#grow();
    this.#slots[(this.#head + this.#size) % this.#slots.length] = item;
    this.#size++;
    return true;
  }

  /** Copies of the first `count` items, oldest first, left in the queue. */
  peek(count: number): T[] {
    const length = Math.min(count, this.#size);
    const items = new Array<T>(length);
    for (let index = 0; index < length; index++) {
      items[index] = this.#slots[(this.#head + index) % this.#slots.length] as T;
    }
    return items;
  }

  /** Removes the first `count` items, releasing their references. */
  discard(count: number): void {
    const length = Math.min(count, this.#size);
    for (let index = 0; index < length; index++) {
      this.#slots[this.#head] = undefined;
      this.#head = (this.#head + 1) % this.#slots.length;
    }
    this.#size -= length;
    if (this.#size === 0) this.#head = 0;
  }

  #grow(): void {
    const next = new Array<T | undefined>(Math.min(this.capacity, this.#slots.length * 2));
    for (let index = 0; index < this.#size; index++) {
      next[index] = this.#slots[(this.#head + index) % this.#slots.length];
    }
    this.#slots = next;
    this.#head = 0;
  }
}
