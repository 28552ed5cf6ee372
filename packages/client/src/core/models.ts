import type { components } from '../generated/types.ts';

// Friendly names for the contract's schemas (the generated `components` stay the source).
type Schemas = components['schemas'];
export type ChatCompletion = Schemas['ChatCompletion'];
export type ChatCompletionChunk = Schemas['ChatCompletionChunk'];
export type ChatCompletionChoice = Schemas['ChatCompletionChoice'];
export type ChatMessage = Schemas['ChatMessage'];
export type CreateChatCompletionRequest = Schemas['CreateChatCompletionRequest'];
export type ResponseFormat = Schemas['ResponseFormat'];
export type FinishReason = Schemas['FinishReason'];
export type KnownModel = Schemas['KnownModel'];
export type ModelId = Schemas['ModelId'];
export type JobAccepted = Schemas['JobAccepted'];
export type Job = Schemas['Job'];
export type JobStatus = Schemas['JobStatus'];
export type ModelList = Schemas['ModelList'];
export type Model = Schemas['Model'];
export type Health = Schemas['Health'];
export type Readiness = Schemas['Readiness'];
export type ErrorBody = Schemas['ErrorBody'];
export type ErrorResponse = Schemas['ErrorResponse'];
export type ErrorCode = Schemas['ErrorCode'];
export type ErrorType = Schemas['ErrorType'];
export type FallbackStrategy = Schemas['FallbackStrategy'];
export type FallbackInfo = Schemas['FallbackInfo'];
export type Usage = Schemas['Usage'];
