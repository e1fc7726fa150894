import { type FakeFormat, splitText } from './formats.js';

const pathPattern = /^\/v1beta\/models\/([^/:]+):(generateContent|streamGenerateContent)$/;

function lastUserText(body: Record<string, unknown>): string {
  const contents = (Array.isArray(body.contents) ? body.contents : []) as {
    role?: string;
    parts?: { text?: unknown }[];
  }[];
  for (let index = contents.length - 1; index >= 0; index--) {
    const content = contents[index];
    if (content?.role !== 'user') continue;
    const text = (content.parts ?? [])
      .map((part) => (typeof part.text === 'string' ? part.text : ''))
      .join('');
    if (text) return text;
  }
  return '';
}

/**
 * The Gemini API (v1beta): the model and streaming come from the path
 * (`/v1beta/models/{model}:generateContent` or `:streamGenerateContent`), each transcript line is one
 * `GenerateContentResponse` sent as `data: <json>\r\n\r\n` the way Google frames `alt=sse`, and the
 * stream simply ends (no `[DONE]`). Transcripts live in `src/providers/gemini/__fixtures__/`.
 */
export const geminiFormat: FakeFormat = {
  name: 'gemini',
  matchPath(path) {
    const match = pathPattern.exec(path);
    if (!match) return undefined;
    return { model: decodeURIComponent(match[1] as string), isStream: match[2] === 'streamGenerateContent' };
  },
  modelFromBody: () => '',
  isStreamFromBody: () => false,
  frame: (line) => `data: ${line}\r\n\r\n`,
  trailer: '',
  keepLine: () => true,
  echo(body, isStream) {
    const text = `Echo: ${lastUserText(body)}`;
    const promptTokenCount = Math.ceil(JSON.stringify(body.contents ?? []).length / 4);
    const candidatesTokenCount = Math.ceil(text.length / 4);
    const usageMetadata = {
      promptTokenCount,
      candidatesTokenCount,
      totalTokenCount: promptTokenCount + candidatesTokenCount,
      promptTokensDetails: [{ modality: 'TEXT', tokenCount: promptTokenCount }],
    };
    const head = { modelVersion: 'echo', responseId: 'fake-echo-response' };
    if (!isStream) {
      return {
        json: {
          candidates: [{ content: { parts: [{ text }], role: 'model' }, finishReason: 'STOP', index: 0 }],
          usageMetadata,
          ...head,
        },
      };
    }
    const pieces = splitText(text, 8);
    const lines = pieces.map((piece, index) => {
      const isLast = index === pieces.length - 1;
      return JSON.stringify({
        candidates: [
          {
            content: { parts: [{ text: piece }], role: 'model' },
            ...(isLast ? { finishReason: 'STOP' } : {}),
            index: 0,
          },
        ],
        usageMetadata: isLast
          ? usageMetadata
          : {
              promptTokenCount,
              totalTokenCount: promptTokenCount,
              promptTokensDetails: usageMetadata.promptTokensDetails,
            },
        ...head,
      });
    });
    return { lines };
  },
};
