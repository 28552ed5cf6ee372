// Breaking the provider breaks verification, with a message that names the field: a tiny proxy
// in front of the real service renames `choices` to `choice` in every JSON answer (the service
// changed, the contract did not), and the Verifier replays the consumer's chat interactions on it.
import { Verifier } from '@pact-foundation/pact';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PACT_FILE, PROVIDER } from '../../../consumer/src/pact/interactions.ts';
import type { PactFile } from './pact-contract.ts';
import { startPactProvider, type PactProvider } from './provider-states.ts';

process.env.PACT_DO_NOT_TRACK = 'true';
const CHECKED = ['a plain question', 'a structured support question'];

let provider: PactProvider;
let proxy: Server;
let proxyUrl: string;
const temp = mkdtempSync(join(tmpdir(), 'broken-provider-'));

/** Forwards to `target`, renaming a top-level field of JSON answers. */
function renamingProxy(target: string, from: string, to: string): Server {
  return createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && k !== 'host' && k !== 'content-length') headers.set(k, v);
    const upstream = await fetch(`${target}${req.url}`, { method: req.method, headers, body: chunks.length ? Buffer.concat(chunks) : undefined });
    let body = Buffer.from(await upstream.arrayBuffer());
    if ((upstream.headers.get('content-type') ?? '').includes('application/json')) {
      const json = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
      if (from in json) {
        json[to] = json[from];
        delete json[from];
      }
      body = Buffer.from(JSON.stringify(json));
    }
    const out: Record<string, string> = {};
    upstream.headers.forEach((v, k) => {
      if (k !== 'content-length' && k !== 'transfer-encoding' && k !== 'connection' && k !== 'keep-alive') out[k] = v;
    });
    res.writeHead(upstream.status, { ...out, 'content-length': String(body.length) }).end(body);
  });
}

beforeAll(async () => {
  provider = await startPactProvider();
  proxy = renamingProxy(provider.stack.url, 'choices', 'choice');
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => proxy?.close(r));
  await provider?.close();
  rmSync(temp, { recursive: true, force: true });
});

it('fails verification and names the renamed field', { timeout: 60_000 }, async () => {
  const pact = JSON.parse(readFileSync(PACT_FILE, 'utf8')) as PactFile;
  pact.interactions = pact.interactions.filter((i) => CHECKED.includes(i.description));
  expect(pact.interactions).toHaveLength(CHECKED.length);
  const file = join(temp, 'chat-only.json');
  writeFileSync(file, JSON.stringify(pact));

  const verify = (providerBaseUrl: string) =>
    new Verifier({ provider: PROVIDER, providerBaseUrl, pactUrls: [file], stateHandlers: provider.stateHandlers, logLevel: 'error' }).verifyProvider();

  // The same interactions pass on the service itself: the proxy is what breaks them.
  await expect(verify(provider.stack.url)).resolves.toBeDefined();
  const failure = await verify(proxyUrl).then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  expect(failure).toBeInstanceOf(Error);
  const report = JSON.parse(failure!.message) as { errors: Array<{ interaction: string; mismatch: { mismatches: Array<{ mismatch: string; path?: string }> } }> };
  expect(report.errors.map((e) => e.interaction)).toEqual(CHECKED.map((d) => expect.stringContaining(d)));
  for (const error of report.errors) {
    expect(error.mismatch.mismatches).toContainEqual(expect.objectContaining({ path: '$', mismatch: 'Actual map is missing the following keys: choices' }));
  }
});
