/**
 * One writer at a time, in arrival order, between the main thread's SQLite connection and the writer
 * thread's (decision 0013). SQLite lets one connection write at a time; a connection that finds the
 * lock taken waits in its busy handler, synchronously. On the main thread that wait would stall the
 * event loop for as long as the writer thread's batch takes, so main-thread writes wait here instead,
 * asynchronously, and the writer thread is only sent work while no main-thread write is open.
 */
export class WriteGate {
  #tail: Promise<void> = Promise.resolve();

  /** Resolves once every earlier holder has released the gate; call the function it gives to release. */
  acquire(): Promise<() => void> {
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const previous = this.#tail;
    this.#tail = previous.then(() => released);
    return previous.then(() => release);
  }

  /** Runs `work` while holding the gate. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    const release = await this.acquire();
    try {
      return await work();
    } finally {
      release();
    }
  }
}
