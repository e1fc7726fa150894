import { useState } from 'preact/hooks';

export interface Action {
  isPending: boolean;
  error: Error | undefined;
  /** Runs `work`, keeping its failure for display; resolves `true` when it succeeded. */
  run(work: () => Promise<unknown>): Promise<boolean>;
}

/** The state of one button or form submission: pending while it runs, its error after. */
export function useAction(): Action {
  const [isPending, setPending] = useState(false);
  const [error, setError] = useState<Error | undefined>(undefined);
  return {
    isPending,
    error,
    async run(work) {
      setPending(true);
      setError(undefined);
      try {
        await work();
        return true;
      } catch (failure) {
        setError(failure instanceof Error ? failure : new Error(String(failure)));
        return false;
      } finally {
        setPending(false);
      }
    },
  };
}
