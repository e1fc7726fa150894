import { invalidValue } from '../../errors/gateway-error.js';

/**
 * Splits a `data:<mime>;base64,<data>` URL into Gemini `inlineData` without scanning the payload
 * (only the header before the first comma is examined). Anything else is a 400 naming `param`.
 */
export function toInlineData(url: string, param: string): { mimeType: string; data: string } {
  const comma = url.indexOf(',');
  const header = comma === -1 ? '' : url.slice(5, comma);
  if (!url.startsWith('data:') || !header.endsWith(';base64')) {
    throw invalidValue(param, 'must be a base64 data: URL (data:<media type>;base64,…)');
  }
  const mimeType = header.slice(0, -';base64'.length).split(';')[0] as string;
  if (!mimeType.includes('/')) throw invalidValue(param, 'the data: URL needs a media type');
  return { mimeType, data: url.slice(comma + 1) };
}
