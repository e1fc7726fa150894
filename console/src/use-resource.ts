import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

export interface Resource<T> {
  data: T | undefined;
  error: Error | undefined;
  isLoading: boolean;
  /** Loads again without clearing what is shown (polling, after an edit). */
  reload(): void;
}

/**
 * Loads `load` whenever `key` changes, cancelling the previous call. Keeps the last data while a
 * reload runs, so a polled table does not flicker.
 */
export function useResource<T>(key: string, load: (signal: AbortSignal) => Promise<T>): Resource<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<Error | undefined>(undefined);
  const [isLoading, setLoading] = useState(true);
  const [generation, setGeneration] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  const lastKey = useRef<string | undefined>(undefined);

  useEffect(() => {
    const controller = new AbortController();
    if (lastKey.current !== key) {
      lastKey.current = key;
      setData(undefined);
    }
    setLoading(true);
    loadRef.current(controller.signal).then(
      (value) => {
        if (controller.signal.aborted) return;
        setData(value);
        setError(undefined);
        setLoading(false);
      },
      (failure: unknown) => {
        if (controller.signal.aborted) return;
        setError(failure instanceof Error ? failure : new Error(String(failure)));
        setLoading(false);
      },
    );
    return () => controller.abort();
  }, [key, generation]);

  const reload = useCallback(() => setGeneration((value) => value + 1), []);
  return { data, error, isLoading, reload };
}

/** Calls `tick` every `intervalMs` while `isActive` and the tab is visible. */
export function useInterval(tick: () => void, intervalMs: number, isActive: boolean): void {
  const tickRef = useRef(tick);
  tickRef.current = tick;
  useEffect(() => {
    if (!isActive) return;
    const timer = window.setInterval(() => {
      if (document.visibilityState === 'visible') tickRef.current();
    }, intervalMs);
    return () => window.clearInterval(timer);
  }, [intervalMs, isActive]);
}
