import type { FilePart, ImagePart } from '../../api/wire/chat.js';
import { invalidValue } from '../../errors/gateway-error.js';
import type { AnthropicDocumentBlock, AnthropicImageBlock } from './wire.js';

/** @see https://platform.claude.com/docs/en/build-with-claude/vision */
const imageMediaTypes = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp']);

interface DataUrl {
  mediaType: string;
  isBase64: boolean;
  data: string;
}

function parseDataUrl(url: string): DataUrl | undefined {
  if (!url.startsWith('data:')) return undefined;
  const comma = url.indexOf(',');
  if (comma === -1) return undefined;
  const [mediaType = '', ...flags] = url.slice(5, comma).split(';');
  return {
    mediaType: mediaType.toLowerCase() || 'text/plain',
    isBase64: flags.some((flag) => flag.toLowerCase() === 'base64'),
    data: url.slice(comma + 1),
  };
}

/** A data URL becomes a base64 source, an http(s) URL a url source (SPEC §4 `image_url`). */
export function toAnthropicImage(part: ImagePart, param: string): AnthropicImageBlock {
  const url = part.image_url.url;
  const dataUrl = parseDataUrl(url);
  let block: AnthropicImageBlock;
  if (dataUrl) {
    if (!imageMediaTypes.has(dataUrl.mediaType) || !dataUrl.isBase64) {
      throw invalidValue(param, 'Anthropic accepts base64 JPEG, PNG, GIF or WebP images');
    }
    block = { type: 'image', source: { type: 'base64', media_type: dataUrl.mediaType, data: dataUrl.data } };
  } else {
    block = { type: 'image', source: { type: 'url', url } };
  }
  if (part.cache_control !== undefined) block.cache_control = part.cache_control;
  return block;
}

function decodeText(dataUrl: DataUrl, param: string): string {
  if (dataUrl.isBase64) return Buffer.from(dataUrl.data, 'base64').toString('utf8');
  try {
    return decodeURIComponent(dataUrl.data);
  } catch {
    throw invalidValue(param, 'file_data is not a valid data URL');
  }
}

/**
 * PDF `file_data` becomes a base64 `document`, plain text a text `document`; `file_id` names a file
 * the gateway does not host (SPEC §4 `file`).
 * @see https://platform.claude.com/docs/en/build-with-claude/pdf-support
 */
export function toAnthropicDocument(part: FilePart, param: string): AnthropicDocumentBlock {
  const file = part.file;
  if (file.file_id !== undefined) throw invalidValue(param, 'file_id is not supported for Anthropic models');
  const dataUrl = file.file_data === undefined ? undefined : parseDataUrl(file.file_data);
  if (!dataUrl) throw invalidValue(param, 'file_data must be a data URL');
  let block: AnthropicDocumentBlock;
  if (dataUrl.mediaType === 'application/pdf' && dataUrl.isBase64) {
    block = {
      type: 'document',
      source: { type: 'base64', media_type: 'application/pdf', data: dataUrl.data },
    };
  } else if (dataUrl.mediaType === 'text/plain') {
    block = {
      type: 'document',
      source: { type: 'text', media_type: 'text/plain', data: decodeText(dataUrl, param) },
    };
  } else {
    throw invalidValue(param, 'Anthropic accepts PDF (base64) or plain-text files');
  }
  if (file.filename) block.title = file.filename;
  if (part.cache_control !== undefined) block.cache_control = part.cache_control;
  return block;
}

/** Tool-call arguments are a JSON object string; Anthropic wants the object (`tool_use.input`). */
export function toToolInput(argumentsText: string, param: string): Record<string, unknown> {
  if (argumentsText.trim() === '') return {};
  let input: unknown;
  try {
    input = JSON.parse(argumentsText);
  } catch {
    throw invalidValue(param, 'must be a JSON object');
  }
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw invalidValue(param, 'must be a JSON object');
  }
  return input as Record<string, unknown>;
}
