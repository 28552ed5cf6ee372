/**
 * The brand that marks a GatewayError. `Symbol.for` makes it the same symbol
 * in every copy of this package (a bundled client, a second node_modules
 * copy), so `isGatewayError` works where `instanceof` would not.
 * Kept apart from errors.ts so classify.ts can check the brand without an
 * import cycle (errors.ts reads the classification table).
 */
export const GATEWAY_ERROR_BRAND: unique symbol = Symbol.for('@llmgw/resilience.GatewayError') as never;

/** The fields the classification reads; GatewayError satisfies it. */
export interface BrandedError {
  readonly [GATEWAY_ERROR_BRAND]: true;
}

export function hasGatewayErrorBrand(value: unknown): boolean {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[GATEWAY_ERROR_BRAND] === true;
}
