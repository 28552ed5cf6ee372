/**
 * Caches metric label children so the hot path never builds label arrays,
 * objects or joined keys: `metric.labels(a, b)` builds a key on every call;
 * after the first call for a combination we keep the returned child and use it
 * directly (`child.inc()`, `child.observe(x)`).
 *
 * Keys are nested Maps rather than one joined string: lookups use the label
 * strings as they are (their hashes are cached by V8), so a hit allocates
 * nothing. Callers bound the values first, so the maps stay small.
 */

interface Labelled<C> {
  labels(...values: string[]): C;
}

/** Children of a metric with one label. */
export class ChildCache1<C> {
  readonly #metric: Labelled<C>;
  readonly #children = new Map<string, C>();

  constructor(metric: Labelled<C>) {
    this.#metric = metric;
  }

  get(a: string): C {
    let child = this.#children.get(a);
    if (child === undefined) {
      child = this.#metric.labels(a);
      this.#children.set(a, child);
    }
    return child;
  }
}

/** Children of a metric with two labels. */
export class ChildCache2<C> {
  readonly #metric: Labelled<C>;
  readonly #children = new Map<string, Map<string, C>>();

  constructor(metric: Labelled<C>) {
    this.#metric = metric;
  }

  get(a: string, b: string): C {
    let byB = this.#children.get(a);
    if (byB === undefined) {
      byB = new Map();
      this.#children.set(a, byB);
    }
    let child = byB.get(b);
    if (child === undefined) {
      child = this.#metric.labels(a, b);
      byB.set(b, child);
    }
    return child;
  }
}

/** Children of a metric with three labels. */
export class ChildCache3<C> {
  readonly #metric: Labelled<C>;
  readonly #children = new Map<string, ChildCache2<C>>();

  constructor(metric: Labelled<C>) {
    this.#metric = metric;
  }

  get(a: string, b: string, c: string): C {
    let rest = this.#children.get(a);
    if (rest === undefined) {
      const metric = this.#metric;
      rest = new ChildCache2<C>({ labels: (x, y) => metric.labels(a, x!, y!) });
      this.#children.set(a, rest);
    }
    return rest.get(b, c);
  }
}

/** Children of a metric with four labels. */
export class ChildCache4<C> {
  readonly #metric: Labelled<C>;
  readonly #children = new Map<string, ChildCache3<C>>();

  constructor(metric: Labelled<C>) {
    this.#metric = metric;
  }

  get(a: string, b: string, c: string, d: string): C {
    let rest = this.#children.get(a);
    if (rest === undefined) {
      const metric = this.#metric;
      rest = new ChildCache3<C>({ labels: (x, y, z) => metric.labels(a, x!, y!, z!) });
      this.#children.set(a, rest);
    }
    return rest.get(b, c, d);
  }
}
