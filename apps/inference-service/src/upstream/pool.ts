/**
 * Bounded connection pools: one undici `Pool` per upstream origin, created
 * once at start and closed on shutdown. Bounding the sockets per upstream is
 * what keeps a burst of slow LLM calls from exhausting file descriptors or
 * the upstream's connection limit: excess requests queue inside the pool.
 *
 * The article's "100 connections, 20 keep-alive" comes from httpx
 * (`max_connections`, `max_keepalive_connections`). undici maps it so:
 * - `connections` -> `Pool.connections`: the hard cap on open sockets
 *   (in flight + idle) to the origin.
 * - `keepAlive` -> undici has no separate cap on idle sockets; every socket
 *   is reusable and closes after `keepAliveTimeoutMs` idle. So `keepAlive: 0`
 *   turns reuse off (`pipelining: 0`, a socket per request), any other value
 *   keeps reuse on and is advisory: with `pipelining: 1` (LLM calls are long;
 *   never queue one behind another on the same socket) the number of warm
 *   sockets follows the load and decays to zero after `keepAliveTimeoutMs`.
 * - `connectTimeoutMs` -> `connect.timeout` (undici ConnectTimeoutError,
 *   mapped to kind 'timeout_connect').
 * - undici's own `headersTimeout`/`bodyTimeout` are off: the adapters run
 *   the per-model timers (http.ts), which know which timeout kind fired.
 */
import { Pool } from 'undici';

export interface PoolLimits {
  /** Max sockets to the origin. */
  connections: number;
  /** httpx's max keep-alive sockets; 0 turns keep-alive off (see above). */
  keepAlive: number;
  /** Idle time before a kept-alive socket closes. */
  keepAliveTimeoutMs?: number;
  /** TCP (+TLS) connect timeout. */
  connectTimeoutMs?: number;
}

/** The contract's `x-llm-agreement.defaults.pool`, and undici's timing defaults made explicit. */
export const DEFAULT_POOL_LIMITS: Readonly<Required<PoolLimits>> = Object.freeze({
  connections: 100,
  keepAlive: 20,
  keepAliveTimeoutMs: 10_000,
  connectTimeoutMs: 2_000,
});

/** The undici options for some limits (exported so the mapping is testable and documented in one place). */
export function toUndiciPoolOptions(limits: PoolLimits): Pool.Options {
  const l = { ...DEFAULT_POOL_LIMITS, ...limits };
  return {
    connections: l.connections,
    pipelining: l.keepAlive === 0 ? 0 : 1,
    keepAliveTimeout: l.keepAliveTimeoutMs,
    keepAliveMaxTimeout: Math.max(l.keepAliveTimeoutMs, 600_000),
    connect: { timeout: l.connectTimeoutMs },
    headersTimeout: 0,
    bodyTimeout: 0,
  };
}

export class UpstreamPools {
  readonly #pools = new Map<string, Pool>();

  /**
   * The pool for `baseUrl`'s origin, created on first use. Two upstreams on
   * the same origin share one pool (the first one's limits win), so the
   * origin's socket cap holds whatever the routes file says.
   */
  poolFor(baseUrl: string, limits: PoolLimits = DEFAULT_POOL_LIMITS): Pool {
    const origin = new URL(baseUrl).origin;
    let pool = this.#pools.get(origin);
    if (pool === undefined) {
      pool = new Pool(origin, toUndiciPoolOptions(limits));
      this.#pools.set(origin, pool);
    }
    return pool;
  }

  get size(): number {
    return this.#pools.size;
  }

  /** Close every pool: in-flight requests finish, then sockets close. `force` destroys them now. */
  async closeAll(force = false): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(pools.map((p) => (force ? p.destroy() : p.close())));
  }
}
