/** Past this many values the walk stops: the estimate only has to bound memory, not be exact. */
const maxValues = 10_000;

/**
 * About how many bytes a request event holds in memory, for the byte bound of the telemetry queue:
 * the lengths of its strings and keys plus 8 per other value, walked without recursion. Costs
 * a few microseconds for a chat request, however long its prompt: it counts values, not characters.
 */
export function approximateBytes(value: unknown): number {
  let bytes = 0;
  let visited = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0 && visited < maxValues) {
    const item = stack.pop();
    visited += 1;
    if (typeof item === 'string') bytes += item.length;
    else if (item === null || typeof item !== 'object') bytes += 8;
    else if (Array.isArray(item)) {
      bytes += 8;
      for (const element of item) stack.push(element);
    } else {
      bytes += 8;
      for (const key in item) {
        bytes += key.length;
        stack.push((item as Record<string, unknown>)[key]);
      }
    }
  }
  return bytes;
}

/** The fixed fields of an event (ids, routing, usage, attempts), about; only the bodies are walked. */
const fixedEventBytes = 1024;

/** About how many bytes a request event holds: its bodies walked, the rest a constant. */
export function approximateEventBytes(event: { request_body: unknown; response_body: unknown }): number {
  return fixedEventBytes + approximateBytes(event.request_body) + approximateBytes(event.response_body);
}
