// undici's internal symbols module (undici is pinned, and http.test.ts checks what we use of it).
declare module 'undici/lib/core/symbols.js' {
  const symbols: {
    /**
     * Dispatch option: a hook undici calls with `cancel(reason)` while the request waits in a
     * pool's or client's queue; `cancel` takes it out of the queue (as `request({ signal })` does).
     */
    readonly kQueuedAbort: symbol;
  };
  export default symbols;
}
