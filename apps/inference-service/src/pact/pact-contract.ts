// Checks pact files against the OpenAPI contract: every interaction's method + path + status
// must be an operation/response the contract documents, and its JSON bodies must pass the
// generated validators of the schemas the contract names for them. So a consumer cannot come
// to depend on something the contract does not promise (a field, a status, a path).
import { openapiDocument, validate, type ValidatorName } from '@llmgw/contract';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface PactInteraction {
  description: string;
  providerStates?: Array<{ name: string }>;
  request: { method: string; path: string; body?: { content?: unknown } };
  response: { status: number; headers?: Record<string, string[] | string>; body?: { content?: unknown; contentType?: string; encoded?: string | boolean } };
}

export interface PactFile {
  consumer: { name: string };
  provider: { name: string };
  interactions: PactInteraction[];
}

type Operation = { requestBody?: unknown; responses?: Record<string, unknown> };
type Doc = { paths: Record<string, Record<string, Operation>>; components: { responses?: Record<string, unknown> } };
const doc = openapiDocument as unknown as Doc;

/** `/v1/jobs/{job_id}` -> /^\/v1\/jobs\/[^/]+$/ */
const templates = Object.keys(doc.paths).map((template) => ({
  template,
  pattern: new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{[^}]+\\?\}/g, '[^/]+')}$`),
}));

export function readPactFiles(dir: string): Array<{ file: string; pact: PactFile }> {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
  return names.map((n) => ({ file: join(dir, n), pact: JSON.parse(readFileSync(join(dir, n), 'utf8')) as PactFile }));
}

/** The component schema named by a `{content: {'application/json': {schema: {$ref}}}}` holder (following one response `$ref`). */
function jsonSchemaName(holder: unknown): ValidatorName | undefined {
  let h = holder as { $ref?: string; content?: Record<string, { schema?: { $ref?: string } }> } | undefined;
  if (h?.$ref?.startsWith('#/components/responses/')) h = doc.components.responses?.[h.$ref.slice('#/components/responses/'.length)] as typeof h;
  const ref = h?.content?.['application/json']?.schema?.$ref;
  return ref?.startsWith('#/components/schemas/') ? (ref.slice('#/components/schemas/'.length) as ValidatorName) : undefined;
}

/** Problems of one interaction, each naming the interaction and the field. Empty when it is within the contract. */
export function checkInteraction(interaction: PactInteraction): string[] {
  const where = `"${interaction.description}"`;
  const method = interaction.request.method.toLowerCase();
  const path = interaction.request.path.split('?')[0]!;
  const template = templates.find((t) => t.pattern.test(path))?.template;
  if (!template) return [`${where}: ${interaction.request.method} ${path} is not a path of the contract`];
  const operation = doc.paths[template]![method];
  if (!operation) return [`${where}: ${interaction.request.method} is not an operation of ${template} in the contract`];
  const problems: string[] = [];

  const requestBody = interaction.request.body?.content;
  if (requestBody !== undefined) {
    const name = jsonSchemaName(operation.requestBody);
    if (!name) problems.push(`${where}: ${interaction.request.method} ${template} takes no JSON body in the contract`);
    else {
      const r = validate(name, requestBody, { root: 'request body' });
      // A 400 interaction shows a request the contract rejects: it must really be invalid.
      if (interaction.response.status === 400) {
        if (r.ok) problems.push(`${where}: the request body is valid ${name}, yet the interaction expects 400`);
      } else if (!r.ok) problems.push(`${where}: request body (${name}) ${r.issue.message}`);
    }
  }

  const status = String(interaction.response.status);
  const response = operation.responses?.[status];
  if (!response) {
    problems.push(`${where}: ${interaction.request.method} ${template} has no ${status} response in the contract`);
    return problems;
  }
  const encoded = interaction.response.body?.encoded === 'base64';
  const raw = interaction.response.body?.content;
  const responseBody = encoded && typeof raw === 'string' ? Buffer.from(raw, 'base64').toString('utf8') : raw;
  if (typeof responseBody === 'string' && isEventStream(interaction)) {
    problems.push(...checkEventStream(where, status, response, responseBody));
  } else if (responseBody !== undefined) {
    const name = jsonSchemaName(response);
    if (!name) problems.push(`${where}: the contract's ${status} response of ${template} has no JSON body`);
    else {
      const r = validate(name, responseBody, { root: 'response body' });
      if (!r.ok) problems.push(`${where}: response ${status} body (${name}) ${r.issue.message}`);
    }
  }
  return problems;
}

function isEventStream(interaction: PactInteraction): boolean {
  const headers = interaction.response.headers ?? {};
  const type = Object.entries(headers).find(([k]) => k.toLowerCase() === 'content-type')?.[1];
  return [type].flat().some((t) => typeof t === 'string' && t.startsWith('text/event-stream'));
}

/** An SSE body: the contract's `text/event-stream` response, each `data:` event valid against its `x-llm-event-schema`, ending with [DONE]. */
function checkEventStream(where: string, status: string, response: unknown, body: string): string[] {
  let r = response as { $ref?: string; content?: Record<string, { 'x-llm-event-schema'?: { $ref?: string } }> };
  if (r.$ref) r = doc.components.responses?.[r.$ref.split('/').pop()!] as typeof r;
  const stream = r.content?.['text/event-stream'];
  if (!stream) return [`${where}: the contract's ${status} response has no text/event-stream body`];
  const ref = stream['x-llm-event-schema']?.$ref;
  const name = ref?.slice('#/components/schemas/'.length) as ValidatorName | undefined;
  const events = body.split('\n\n').map((e) => e.trim()).filter(Boolean);
  const problems: string[] = [];
  if (events.at(-1) !== 'data: [DONE]') problems.push(`${where}: the event stream does not end with data: [DONE]`);
  events.slice(0, -1).forEach((event, index) => {
    const data = event.split('\n').find((l) => l.startsWith('data: '))?.slice(6);
    if (!data || !name) return void problems.push(`${where}: event ${index} has no data line`);
    let json: unknown;
    try {
      json = JSON.parse(data);
    } catch {
      return void problems.push(`${where}: event ${index} is not JSON`);
    }
    const v = validate(name, json, { root: `event ${index}` });
    if (!v.ok) problems.push(`${where}: response ${status} event ${index} (${name}) ${v.issue.message}`);
  });
  return problems;
}
