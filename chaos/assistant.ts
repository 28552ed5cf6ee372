/**
 * The consumer under test: apps/consumer's support assistant, used through
 * its library API exactly as its own server and CLI use it.
 */
export { createAssistant } from '../apps/consumer/src/assistant.ts';
export type { Assistant, AssistantOptions, AskOptions, AssistantAnswer as AskResult } from '../apps/consumer/src/assistant.ts';
import type { createAssistant } from '../apps/consumer/src/assistant.ts';

export type CreateAssistant = typeof createAssistant;
