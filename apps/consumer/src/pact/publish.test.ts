// Publishing to a Pact Broker over HTTP: a local stand-in broker records what arrives.
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { main, publishPacts } from './publish.ts';

const temp = mkdtempSync(join(tmpdir(), 'pact-publish-'));
const file = join(temp, 'support-assistant-llm-inference-service.json');
const pact = { consumer: { name: 'support-assistant' }, provider: { name: 'llm-inference-service' }, interactions: [], metadata: { pactSpecification: { version: '4.0' } } };
writeFileSync(file, JSON.stringify(pact));

const received: Array<{ url: string; headers: IncomingMessage['headers']; body: any }> = [];
let status = 200;
const broker = createServer(async (req, res) => {
  let text = '';
  for await (const c of req) text += c;
  received.push({ url: req.url!, headers: req.headers, body: JSON.parse(text) });
  res.writeHead(status, { 'content-type': 'application/hal+json' }).end(JSON.stringify({ notices: [{ type: status === 200 ? 'success' : 'error', text: status === 200 ? 'Created support-assistant version abc' : 'Unauthorised' }] }));
});
let url: string;
beforeAll(async () => {
  await new Promise<void>((r) => broker.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(broker.address() as AddressInfo).port}`;
});
afterAll(() => {
  broker.close();
  rmSync(temp, { recursive: true, force: true });
});

it('posts the pacts to /contracts/publish with the version, branch and token', async () => {
  status = 200;
  received.length = 0;
  const result = await publishPacts({ brokerUrl: `${url}/`, token: 'tok', version: 'abc', branch: 'main', files: [file] });
  expect(result).toEqual({ status: 200, notices: ['Created support-assistant version abc'] });
  const [request] = received;
  expect(request?.url).toBe('/contracts/publish');
  expect(request?.headers.authorization).toBe('Bearer tok');
  expect(request?.body).toMatchObject({ pacticipantName: 'support-assistant', pacticipantVersionNumber: 'abc', branch: 'main' });
  expect(request?.body.contracts).toHaveLength(1);
  expect(request?.body.contracts[0]).toMatchObject({ consumerName: 'support-assistant', providerName: 'llm-inference-service', specification: 'pact', contentType: 'application/json' });
  expect(JSON.parse(Buffer.from(request?.body.contracts[0].content, 'base64').toString('utf8'))).toEqual(pact);
});

it("reports the broker's refusal with its notice", async () => {
  status = 401;
  await expect(publishPacts({ brokerUrl: url, username: 'u', password: 'p', version: 'abc', files: [file] })).rejects.toThrow('answered 401 to the publication of support-assistant abc: Unauthorised');
  expect(received.at(-1)?.headers.authorization).toBe(`Basic ${Buffer.from('u:p').toString('base64')}`);
});

it('does nothing without PACT_BROKER_BASE_URL', async () => {
  received.length = 0;
  expect(await main({})).toBe(0);
  expect(received).toHaveLength(0);
});
