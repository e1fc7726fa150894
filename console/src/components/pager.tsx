import { formatInteger } from '../format';

export interface PagerProps {
  offset: number;
  limit: number;
  total: number;
  shown: number;
  label: string;
  onChange(offset: number): void;
}

/** Previous / next over `limit`/`offset` pages, with the range shown as text. */
export function Pager({ offset, limit, total, shown, label, onChange }: PagerProps) {
  const first = total === 0 ? 0 : offset + 1;
  const last = offset + shown;
  return (
    <nav class="pager" aria-label={`${label} pages`}>
      <button type="button" disabled={offset === 0} onClick={() => onChange(Math.max(0, offset - limit))}>
        Previous
      </button>
      <span aria-live="polite">
        {formatInteger(first)}–{formatInteger(last)} of {formatInteger(total)}
      </span>
      <button type="button" disabled={last >= total} onClick={() => onChange(offset + limit)}>
        Next
      </button>
    </nav>
  );
}
