/**
 * Bounded metric label values.
 *
 * Every distinct label value is a new time series in Prometheus, so values that
 * come from outside (a requested model name, a provider id) must map onto a
 * small, known set. Anything unknown becomes `OTHER_LABEL`.
 */

/** The label value used for anything outside the allow-list. */
export const OTHER_LABEL = 'other';

/** Safety cap when no allow-list is known: at most this many distinct values pass through. */
export const DEFAULT_MAX_DISTINCT_LABELS = 50;

/** Maps a raw value to itself when allowed, else to the fallback label. */
export type LabelBounder = (value: string | undefined | null) => string;

/**
 * Allow-list bounding: values in `allowed` pass through, everything else
 * (including undefined) becomes `other`. The Set is built once; each call is one `Set.has`.
 */
export function boundedLabel(allowed: Iterable<string>, other: string = OTHER_LABEL): LabelBounder {
  const known = new Set(allowed);
  return function boundLabel(value) {
    return value != null && known.has(value) ? value : other;
  };
}

/**
 * First-come bounding for when no allow-list exists yet: the first `maxDistinct`
 * distinct values pass through, later new ones become `other`. A guard against
 * cardinality explosions, not a substitute for an allow-list.
 */
export function cappedLabel(
  maxDistinct: number = DEFAULT_MAX_DISTINCT_LABELS,
  other: string = OTHER_LABEL,
): LabelBounder {
  const seen = new Set<string>();
  return function capLabel(value) {
    if (value == null || value === '') return other;
    if (seen.has(value)) return value;
    if (seen.size >= maxDistinct) return other;
    seen.add(value);
    return value;
  };
}

/** An allow-list when one is given, else a first-come cap. */
export function labelBounder(allowed: Iterable<string> | undefined, maxDistinct?: number): LabelBounder {
  return allowed === undefined ? cappedLabel(maxDistinct) : boundedLabel(allowed);
}
