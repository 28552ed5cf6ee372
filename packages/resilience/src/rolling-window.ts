/**
 * Counts events over a sliding time window in fixed buckets (a ring), so
 * adding and summing are O(1) and memory is constant. Shared by the retry
 * budget and the breaker's failure-ratio rule. The clock is injected.
 */
export class RollingCounter {
  readonly #bucketMs: number;
  readonly #counts: Float64Array; // [bucket * width + series]
  readonly #totals: Float64Array;
  readonly #width: number;
  readonly #buckets: number;
  #currentBucket = -Infinity;

  /** `series`: how many independent counts (e.g. 2: requests, retries). */
  constructor(windowMs: number, buckets: number, series: number) {
    if (!(windowMs > 0) || !(buckets >= 1) || !Number.isInteger(buckets)) {
      throw new RangeError('RollingCounter: windowMs must be > 0 and buckets a positive integer');
    }
    this.#bucketMs = windowMs / buckets;
    this.#buckets = buckets;
    this.#width = series;
    this.#counts = new Float64Array(buckets * series);
    this.#totals = new Float64Array(series);
  }

  add(series: number, now: number, amount = 1): void {
    this.#advance(now);
    const slot = (mod(this.#currentBucket, this.#buckets) * this.#width) + series;
    this.#counts[slot]! += amount;
    this.#totals[series]! += amount;
  }

  /** Sum of one series over the window ending at `now`. */
  total(series: number, now: number): number {
    this.#advance(now);
    return this.#totals[series]!;
  }

  reset(): void {
    this.#counts.fill(0);
    this.#totals.fill(0);
    this.#currentBucket = -Infinity;
  }

  #advance(now: number): void {
    const bucket = Math.floor(now / this.#bucketMs);
    const current = this.#currentBucket;
    if (bucket <= current) return; // same bucket (or a clock that went back: stay put)
    if (bucket - current >= this.#buckets) {
      this.#counts.fill(0);
      this.#totals.fill(0);
    } else {
      for (let b = current + 1; b <= bucket; b++) this.#clearBucket(mod(b, this.#buckets));
    }
    this.#currentBucket = bucket;
  }

  #clearBucket(index: number): void {
    const base = index * this.#width;
    for (let s = 0; s < this.#width; s++) {
      this.#totals[s]! -= this.#counts[base + s]!;
      this.#counts[base + s] = 0;
    }
  }
}

function mod(n: number, m: number): number {
  return ((n % m) + m) % m;
}
