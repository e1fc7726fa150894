const initialSlots = 1024;

/**
 * FIFO ring buffer with a hard capacity in items and, optionally, in total weight (the caller's
 * estimate of each item's bytes). `push` is O(1) amortised and refuses items once either is full, so
 * memory never exceeds `capacity` references; slots grow on demand up to the capacity so an idle
 * gateway does not hold a 50 000-slot array. An item heavier than `maxWeight` is still taken into an
 * empty queue, so one large item is never refused for its size alone.
 */
export class BoundedQueue<T> {
  readonly capacity: number;
  readonly maxWeight: number;
  #slots: (T | undefined)[];
  #weights: number[];
  #head = 0;
  #size = 0;
  #weight = 0;

  constructor(capacity: number, maxWeight = Number.POSITIVE_INFINITY) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError('capacity must be a positive integer');
    if (!(maxWeight > 0)) throw new RangeError('maxWeight must be positive');
    this.capacity = capacity;
    this.maxWeight = maxWeight;
    this.#slots = new Array(Math.min(capacity, initialSlots));
    this.#weights = new Array(this.#slots.length).fill(0);
  }

  get size(): number {
    return this.#size;
  }

  /** The sum of the queued items' weights. */
  get weight(): number {
    return this.#weight;
  }

  /** Appends at the tail; false (and nothing stored) when the queue is full. */
  push(item: T, weight = 0): boolean {
    if (this.#size === this.capacity) return false;
    if (this.#size > 0 && this.#weight + weight > this.maxWeight) return false;
    if (this.#size === this.#slots.length) this.#grow();
    const slot = (this.#head + this.#size) % this.#slots.length;
    this.#slots[slot] = item;
    this.#weights[slot] = weight;
    this.#weight += weight;
    this.#size++;
    return true;
  }

  /**
   * How many of the first items, at most `count`, fit in `maxWeight` together; at least one when the
   * queue is not empty, however heavy.
   */
  countWithin(count: number, maxWeight: number): number {
    const limit = Math.min(count, this.#size);
    let total = 0;
    for (let index = 0; index < limit; index++) {
      total += this.#weights[(this.#head + index) % this.#slots.length] as number;
      if (total > maxWeight) return Math.max(1, index);
    }
    return limit;
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
      this.#weight -= this.#weights[this.#head] as number;
      this.#weights[this.#head] = 0;
      this.#head = (this.#head + 1) % this.#slots.length;
    }
    this.#size -= length;
    if (this.#size === 0) {
      this.#head = 0;
      this.#weight = 0;
    }
  }

  #grow(): void {
    const next = new Array<T | undefined>(Math.min(this.capacity, this.#slots.length * 2));
    const weights = new Array<number>(next.length).fill(0);
    for (let index = 0; index < this.#size; index++) {
      next[index] = this.#slots[(this.#head + index) % this.#slots.length];
      weights[index] = this.#weights[(this.#head + index) % this.#slots.length] as number;
    }
    this.#slots = next;
    this.#weights = weights;
    this.#head = 0;
  }
}
