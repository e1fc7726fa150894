import { anthropicFormat } from './anthropic-format.js';
import type { FakeFormat } from './formats.js';
import { openAiFormat } from './formats.js';
import { geminiFormat } from './gemini-format.js';

/** Every vendor format the fake upstream can play, one line each. */
export const allFakeFormats: FakeFormat[] = [openAiFormat, anthropicFormat, geminiFormat];
