// Publishes the consumer's pact files to a Pact Broker (POST /contracts/publish, the broker's
// own publication API: no pact CLI binary to download). Without PACT_BROKER_BASE_URL it does
// nothing: the local ./pacts files are the default and the provider verifies them in the same run.
//
//   PACT_BROKER_BASE_URL=https://broker.example PACT_BROKER_TOKEN=... \
//     node --conditions=source apps/consumer/src/pact/publish.ts
//
// Env: PACT_BROKER_BASE_URL, PACT_BROKER_TOKEN (or PACT_BROKER_USERNAME + PACT_BROKER_PASSWORD),
// CONSUMER_VERSION (default GIT_COMMIT, else `git rev-parse HEAD`), CONSUMER_BRANCH (default
// GIT_BRANCH, else the current git branch), BUILD_URL (optional).
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONSUMER, PACT_DIR } from './interactions.ts';

export interface PublishOptions {
  brokerUrl: string;
  token?: string;
  username?: string;
  password?: string;
  /** The consumer version: a git sha, so the broker can tell versions apart. */
  version: string;
  branch?: string;
  buildUrl?: string;
  /** Pact files (JSON paths). */
  files: string[];
  fetch?: typeof fetch;
}

export interface PublishResult {
  status: number;
  /** The broker's notices (what it created, what to run next). */
  notices: string[];
}

export async function publishPacts(options: PublishOptions): Promise<PublishResult> {
  if (options.files.length === 0) throw new Error(`No pact files to publish: run the consumer tests first (they write ${PACT_DIR}).`);
  const contracts = options.files.map((file) => {
    const text = readFileSync(file, 'utf8');
    const pact = JSON.parse(text) as { consumer: { name: string }; provider: { name: string } };
    return {
      consumerName: pact.consumer.name,
      providerName: pact.provider.name,
      specification: 'pact',
      contentType: 'application/json',
      content: Buffer.from(text).toString('base64'),
    };
  });
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/hal+json, application/json' };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  else if (options.username) headers.authorization = `Basic ${Buffer.from(`${options.username}:${options.password ?? ''}`).toString('base64')}`;
  const body = {
    pacticipantName: contracts[0]!.consumerName,
    pacticipantVersionNumber: options.version,
    ...(options.branch && { branch: options.branch }),
    ...(options.buildUrl && { buildUrl: options.buildUrl }),
    contracts,
  };
  const res = await (options.fetch ?? fetch)(`${options.brokerUrl.replace(/\/+$/, '')}/contracts/publish`, { method: 'POST', headers, body: JSON.stringify(body) });
  const text = await res.text();
  let parsed: { notices?: Array<{ text?: string }> } = {};
  try {
    parsed = JSON.parse(text);
  } catch {
    // a proxy's HTML error page: reported below by status
  }
  const notices = (parsed.notices ?? []).map((n) => n.text ?? '').filter(Boolean);
  if (!res.ok) throw new Error(`The Pact Broker answered ${res.status} to the publication of ${CONSUMER} ${options.version}: ${notices.join(' ') || text.slice(0, 500)}`);
  return { status: res.status, notices };
}

export function pactFiles(dir: string = PACT_DIR): string[] {
  try {
    return readdirSync(dir).filter((n) => n.endsWith('.json')).map((n) => join(dir, n));
  } catch {
    return [];
  }
}

function git(args: string[]): string | undefined {
  try {
    return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || undefined;
  } catch {
    return undefined;
  }
}

export async function main(env: Readonly<Record<string, string | undefined>> = process.env): Promise<number> {
  const brokerUrl = env.PACT_BROKER_BASE_URL;
  if (!brokerUrl) {
    process.stdout.write(`PACT_BROKER_BASE_URL is not set: nothing published; the pact files stay in ${PACT_DIR}.\n`);
    return 0;
  }
  const version = env.CONSUMER_VERSION ?? env.GIT_COMMIT ?? git(['rev-parse', 'HEAD']);
  if (!version) throw new Error('Set CONSUMER_VERSION (or GIT_COMMIT): the broker needs a consumer version.');
  const result = await publishPacts({
    brokerUrl,
    token: env.PACT_BROKER_TOKEN,
    username: env.PACT_BROKER_USERNAME,
    password: env.PACT_BROKER_PASSWORD,
    version,
    branch: env.CONSUMER_BRANCH ?? env.GIT_BRANCH ?? git(['rev-parse', '--abbrev-ref', 'HEAD']),
    buildUrl: env.BUILD_URL,
    files: pactFiles(),
  });
  process.stdout.write(`Published ${CONSUMER} ${version} to ${brokerUrl} (${result.status}).\n${result.notices.join('\n')}\n`);
  return 0;
}

if (import.meta.main) process.exitCode = await main();
