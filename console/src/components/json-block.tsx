import { prettyJson } from '../format';

/** Raw JSON, folded by default; the `pre` is focusable so a keyboard can scroll it. */
export function JsonBlock({
  title,
  value,
  isOpen = false,
}: {
  title: string;
  value: unknown;
  isOpen?: boolean;
}) {
  return (
    <details class="json-block" open={isOpen}>
      <summary>{title}</summary>
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be reachable by keyboard. */}
      <pre tabIndex={0}>
        <code>{prettyJson(value)}</code>
      </pre>
    </details>
  );
}
