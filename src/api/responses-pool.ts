import type { Clock } from '../clock.js';
import type { ResponseRecord, ResponseRepository } from '../store/repositories.js';
import type { ResponseObject } from './wire/responses.js';

/** Why a running job was stopped; the abort reason of its signal. */
export class JobStop extends Error {
  override name = 'JobStop';
  constructor(readonly reason: 'cancelled' | 'shutting_down') {
    super(reason);
  }
}

/**
 * The live events of one job running in this process, for tails (SPEC §12.4): every frame it wrote,
 * in order, so a late reader starts from any `sequence_number`. Bounded by the response's own size.
 */
export class JobFeed {
  readonly frames: { sequence: number; text: string }[] = [];
  readonly abort = new AbortController();
  isFinished = false;
  /** The response as it stands (set by the job once it runs). */
  snapshot: () => ResponseObject = () => {
    throw new Error('the job has not started');
  };
  private wake: (() => void)[] = [];

  publish(sequence: number, text: string): void {
    this.frames.push({ sequence, text });
    this.wakeAll();
  }

  finish(): void {
    this.isFinished = true;
    this.wakeAll();
  }

  /** Wakes readers without a frame (their stream is being stopped). */
  interrupt(): void {
    this.wakeAll();
  }

  /** Resolves at the next frame, at the end, or on `interrupt`. */
  changed(): Promise<void> {
    return new Promise((resolve) => this.wake.push(resolve));
  }

  private wakeAll(): void {
    const waiting = this.wake;
    this.wake = [];
    for (const resolve of waiting) resolve();
  }
}

export interface BackgroundPoolOptions {
  store: Pick<ResponseRepository, 'claimNext'>;
  clock: Clock;
  workerId: string;
  /** `background.concurrency`: jobs run at once by this process. */
  concurrency: number;
  /** How often idle workers look for queued jobs (jobs of other instances, left after a restart). */
  pollIntervalMs: number;
  /** Runs one claimed job to its end, persisting its outcome; never rejects. */
  run(record: ResponseRecord, feed: JobFeed): Promise<void>;
  onError(error: unknown): void;
}

/**
 * The in-process worker pool of SPEC §12.3. Workers claim queued jobs through the store (row locks
 * on PostgreSQL, so instances never run the same job), up to `concurrency` at a time, when a job is
 * enqueued here, when one ends, and every `pollIntervalMs`. `close()` stops claiming, lets running
 * jobs finish until the drain deadline, then stops them (`shutting_down`); unclaimed jobs stay queued.
 */
export class BackgroundPool {
  private readonly feeds = new Map<string, JobFeed>();
  private readonly running = new Set<Promise<void>>();
  private readonly startWaiters = new Map<string, Set<() => void>>();
  private isClosing = false;
  private filling: Promise<void> | undefined;
  private wantsFill = false;
  private pollTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: BackgroundPoolOptions) {}

  get isAccepting(): boolean {
    return !this.isClosing;
  }

  /** Claims what is waiting now, then keeps polling. */
  start(): void {
    if (this.pollTimer || this.isClosing) return;
    if (this.options.pollIntervalMs > 0) {
      this.pollTimer = setInterval(() => this.notify(), this.options.pollIntervalMs);
      this.pollTimer.unref();
    }
    this.notify();
  }

  /** A job was enqueued (or a slot freed): claim now. */
  notify(): void {
    if (this.filling) {
      this.wantsFill = true;
      return;
    }
    this.filling = this.fill().finally(() => {
      this.filling = undefined;
    });
  }

  /** The feed of a job running in this process. */
  feed(id: string): JobFeed | undefined {
    return this.feeds.get(id);
  }

  /** Wakes readers waiting on job `id` (it was cancelled here, say). */
  wake(id: string): void {
    for (const wake of this.startWaiters.get(id) ?? []) wake();
  }

  /** Resolves when job `id` starts here or is woken, or after `timeoutMs`, whichever comes first. */
  waitForStart(id: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (this.feeds.has(id) || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      let waiters = this.startWaiters.get(id);
      if (!waiters) {
        waiters = new Set();
        this.startWaiters.set(id, waiters);
      }
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        const set = this.startWaiters.get(id);
        set?.delete(done);
        if (set?.size === 0) this.startWaiters.delete(id);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      timer.unref();
      signal?.addEventListener('abort', done, { once: true });
      waiters.add(done);
    });
  }

  private async fill(): Promise<void> {
    try {
      do {
        this.wantsFill = false;
        while (!this.isClosing && this.feeds.size < this.options.concurrency) {
          const record = await this.options.store.claimNext({
            workerId: this.options.workerId,
            now: this.options.clock.now(),
          });
          if (!record) break;
          this.launch(record);
        }
      } while (this.wantsFill && !this.isClosing);
    } catch (error) {
      this.options.onError(error);
    }
  }

  private launch(record: ResponseRecord): void {
    const feed = new JobFeed();
    this.feeds.set(record.id, feed);
    this.wake(record.id);
    const done: Promise<void> = this.options
      .run(record, feed)
      .catch((error: unknown) => this.options.onError(error))
      .finally(() => {
        this.feeds.delete(record.id);
        feed.finish();
        this.running.delete(done);
        this.notify();
      });
    this.running.add(done);
  }

  /** Stops job `id` if it runs here; resolves once it has recorded its end. */
  async stop(id: string, reason: JobStop['reason']): Promise<boolean> {
    const feed = this.feeds.get(id);
    if (!feed) return false;
    feed.abort.abort(new JobStop(reason));
    while (!feed.isFinished) await feed.changed();
    return true;
  }

  /**
   * Shutdown (SPEC §12.3, §13.5): claim nothing more; jobs still running after `drainTimeoutMs` are
   * stopped and end `failed` with `shutting_down`. Resolves once every job has recorded its end.
   */
  async close(drainTimeoutMs: number): Promise<void> {
    this.isClosing = true;
    clearInterval(this.pollTimer);
    // A claim already under way still launches its job; wait for it so that job is drained too.
    await this.filling;
    const all = Promise.allSettled([...this.running]);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, drainTimeoutMs);
    });
    await Promise.race([all, deadline]);
    clearTimeout(timer);
    for (const feed of this.feeds.values()) feed.abort.abort(new JobStop('shutting_down'));
    await all;
  }
}
