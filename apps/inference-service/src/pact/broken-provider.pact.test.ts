// Breaking the provider breaks verification, with a message that names the field: a tiny proxy
// in front of the real service renames `choices` to `choice` in every JSON answer (the service
// changed, the contract did not), and the Verifier replays the consumer's chat interactions on it.
// The same for the streamed answer: a proxy that renames each chunk's `choices[].delta` to
// `message` (the assistant would read no text) fails the rules on `delta`, not the others.
import { Verifier } from '@pact-foundation/pact';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PACT_FILE, PROVIDER, STREAM_CHUNKS, STREAM_DELTAS, STREAM_HAS_TEXT } from '../../../consumer/src/pact/interactions.ts';
import type { PactFile } from './pact-contract.ts';
import { startPactProvider, type PactProvider } from './provider-states.ts';

process.env.PACT_DO_NOT_TRACK = 'true';
const CHECKED = ['a plain question', 'a structured support question'];

let provider: PactProvider;
let proxy: Server;
let proxyUrl: string;
let streamProxy: Server;
let streamProxyUrl: string;
const temp = mkdtempSync(join(tmpdir(), 'broken-provider-'));

/** Renames a top-level field of a JSON answer. */
const renameField = (from: string, to: string) => (body: Buffer, contentType: string) => {
  if (!contentType.includes('application/json')) return body;
  const json = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
  if (from in json) {
    json[to] = json[from];
    delete json[from];
  }
  return Buffer.from(JSON.stringify(json));
};

/** Renames `choices[].delta` to `message` in every chunk of an event stream. */
const renameDelta = (body: Buffer, contentType: string) => {
  if (!contentType.includes('text/event-stream')) return body;
  const sse = body.toString('utf8').replace(/^data: (\{.*\})$/gm, (_line, json: string) => {
    const chunk = JSON.parse(json) as { choices?: Array<Record<string, unknown>> };
    for (const choice of chunk.choices ?? []) {
      choice.message = choice.delta;
      delete choice.delta;
    }
    return `data: ${JSON.stringify(chunk)}`;
  });
  return Buffer.from(sse);
};

/** Forwards to `target`, passing each answer's body through `transform`. */
function renamingProxy(target: string, transform: (body: Buffer, contentType: string) => Buffer): Server {
  return createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && k !== 'host' && k !== 'content-length') headers.set(k, v);
    const upstream = await fetch(`${target}${req.url}`, { method: req.method, headers, body: chunks.length ? Buffer.concat(chunks) : undefined });
    const body = transform(Buffer.from(await upstream.arrayBuffer()), upstream.headers.get('content-type') ?? '');
    const out: Record<string, string> = {};
    upstream.headers.forEach((v, k) => {
      if (k !== 'content-length' && k !== 'transfer-encoding' && k !== 'connection' && k !== 'keep-alive') out[k] = v;
    });
    res.writeHead(upstream.status, { ...out, 'content-length': String(body.length) }).end(body);
  });
}

beforeAll(async () => {
  provider = await startPactProvider();
  proxy = renamingProxy(provider.stack.url, renameField('choices', 'choice'));
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  streamProxy = renamingProxy(provider.stack.url, renameDelta);
  await new Promise<void>((r) => streamProxy.listen(0, '127.0.0.1', r));
  streamProxyUrl = `http://127.0.0.1:${(streamProxy.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => proxy?.close(r));
  await new Promise((r) => streamProxy?.close(r));
  await provider?.close();
  rmSync(temp, { recursive: true, force: true });
});

type VerificationReport = { errors: Array<{ interaction: string; mismatch: { mismatches: Array<{ mismatch: string; path?: string }> } }> };

/**
 * Verifies the pact's interactions named `descriptions` against the service itself (they must
 * pass: the proxy is what breaks them), then through `brokenUrl`, and returns that failure's report.
 */
async function failureThrough(brokenUrl: string, descriptions: readonly string[], fileName: string): Promise<VerificationReport> {
  const pact = JSON.parse(readFileSync(PACT_FILE, 'utf8')) as PactFile;
  pact.interactions = pact.interactions.filter((i) => descriptions.includes(i.description));
  expect(pact.interactions).toHaveLength(descriptions.length);
  const file = join(temp, fileName);
  writeFileSync(file, JSON.stringify(pact));
  const verify = (providerBaseUrl: string) =>
    new Verifier({ provider: PROVIDER, providerBaseUrl, pactUrls: [file], stateHandlers: provider.stateHandlers, logLevel: 'error' }).verifyProvider();
  await expect(verify(provider.stack.url)).resolves.toBeDefined();
  const failure = await verify(brokenUrl).then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  expect(failure).toBeInstanceOf(Error);
  return JSON.parse(failure!.message) as VerificationReport;
}

it('fails verification and names the renamed field', { timeout: 60_000 }, async () => {
  const report = await failureThrough(proxyUrl, CHECKED, 'chat-only.json');
  expect(report.errors.map((e) => e.interaction)).toEqual(CHECKED.map((d) => expect.stringContaining(d)));
  for (const error of report.errors) {
    expect(error.mismatch.mismatches).toContainEqual(expect.objectContaining({ path: '$', mismatch: 'Actual map is missing the following keys: choices' }));
  }
});

it('fails verification of the streamed answer when its chunks carry no delta', { timeout: 60_000 }, async () => {
  const report = await failureThrough(streamProxyUrl, ['a streamed question'], 'stream-only.json');
  expect(report.errors.map((e) => e.interaction)).toEqual([expect.stringContaining('a streamed question')]);
  // Still chunks ending with [DONE]; what broke is the delta the assistant reads its text from.
  const broken = report.errors[0]!.mismatch.mismatches.filter((m) => m.path === '$').map((m) => m.mismatch);
  expect(broken).toHaveLength(2);
  expect(broken.some((m) => m.endsWith(`to match '${STREAM_DELTAS}'`))).toBe(true);
  expect(broken.some((m) => m.endsWith(`to match '${STREAM_HAS_TEXT}'`))).toBe(true);
  expect(broken.some((m) => m.includes(STREAM_CHUNKS))).toBe(false);
});
