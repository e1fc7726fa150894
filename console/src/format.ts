/** Display formats. Times show in the browser's time zone; the API speaks UTC seconds. */

const dateTime = new Intl.DateTimeFormat(undefined, {
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
});
const shortDay = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', timeZone: 'UTC' });
const hourOfDay = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const integer = new Intl.NumberFormat();

export const dash = '—';

export function formatTime(unixMs: number | null | undefined): string {
  return unixMs === null || unixMs === undefined ? dash : dateTime.format(new Date(unixMs));
}

export function formatDay(unixSeconds: number): string {
  return shortDay.format(new Date(unixSeconds * 1000));
}

export function formatHour(unixSeconds: number): string {
  return hourOfDay.format(new Date(unixSeconds * 1000));
}

export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return dash;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

export function formatInteger(value: number | null | undefined): string {
  return value === null || value === undefined ? dash : integer.format(value);
}

/** Costs are small: show enough digits for a fraction of a cent. */
export function formatUsd(value: number | null | undefined): string {
  if (value === null || value === undefined) return dash;
  if (value === 0) return '$0';
  const digits = Math.abs(value) >= 1 ? 2 : Math.abs(value) >= 0.01 ? 4 : 6;
  return `$${value.toFixed(digits)}`;
}

export function formatPercent(ratio: number): string {
  return `${(ratio * 100).toFixed(ratio === 0 || ratio === 1 ? 0 : 1)}%`;
}

/** `2025-01-15T12:00` (a datetime-local value) ↔ Unix seconds. */
export function toUnixSeconds(localDateTime: string): number | undefined {
  if (!localDateTime) return undefined;
  const ms = new Date(localDateTime).getTime();
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
}

export function toLocalDateTime(unixSeconds: string | null): string {
  if (!unixSeconds) return '';
  const date = new Date(Number(unixSeconds) * 1000);
  if (Number.isNaN(date.getTime())) return '';
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

export function prettyJson(value: unknown): string {
  return JSON.stringify(value, null, 2) ?? 'null';
}

/** Tool-call arguments are JSON text; show them indented when they parse. */
export function prettyArguments(text: string | undefined): string {
  if (!text) return '';
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}
