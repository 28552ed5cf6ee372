import type { TimeRange } from './types.ts';

/** A range of fixed-width buckets, first and last index included. */
export type BucketSpan = readonly [first: number, last: number];

/** The buckets that hold each time range [fromMs, toMs) (shared by the memory and Redis token counts). */
export function bucketSpans(ranges: readonly TimeRange[], bucketMs: number): BucketSpan[] {
  return ranges.map(([fromMs, toMs]) => [Math.floor(fromMs / bucketMs), Math.floor((toMs - 1) / bucketMs)] as const);
}

/** Adds bucket `bucket`'s count to the total of every span that holds it. */
export function addToSpans(totals: number[], spans: readonly BucketSpan[], bucket: number, count: number): void {
  for (let i = 0; i < spans.length; i++) if (bucket >= spans[i]![0] && bucket <= spans[i]![1]) totals[i]! += count;
}
