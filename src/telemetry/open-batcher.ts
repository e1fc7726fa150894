import { TelemetryBatcher } from './batcher.js';
import type { TelemetryBatcherOptions } from './batcher-options.js';
import { Spool } from './spool.js';

export interface OpenTelemetryBatcherOptions extends Omit<TelemetryBatcherOptions, 'spool'> {
  /** `storage.spoolDir`. */
  spoolDir: string;
  /** `telemetry.spoolMaxBytes`. */
  spoolMaxBytes: number;
}

/**
 * Opens the spool (taking its directory lock), builds the batcher and starts it; batches an earlier
 * process left in the spool are replayed first. Damaged spool records go to `hooks.onError`.
 */
export async function openTelemetryBatcher(options: OpenTelemetryBatcherOptions): Promise<TelemetryBatcher> {
  const { spoolDir, spoolMaxBytes, ...batcherOptions } = options;
  const spool = await Spool.open({
    dir: spoolDir,
    maxBytes: spoolMaxBytes,
    onDamagedRecord: (record) =>
      options.hooks?.onError?.(
        new Error(
          `skipped a damaged spool record: ${record.file} at ${record.offset} (${record.bytes} bytes)`,
        ),
        'spool',
      ),
  });
  const batcher = new TelemetryBatcher({ ...batcherOptions, spool });
  batcher.start();
  return batcher;
}
