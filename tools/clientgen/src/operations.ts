import type { ContractDocument } from './contract.ts';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

export interface OperationInfo {
  operationId: string;
  method: (typeof METHODS)[number];
  path: string;
  summary: string | undefined;
  /** True when a caller must pass something (a required body or a required parameter). */
  initRequired: boolean;
}

type Param = { $ref?: string; required?: boolean; in?: string };

/** Every operation with an `operationId`, in document order (paths, then method order above). */
export function listOperations(doc: ContractDocument): OperationInfo[] {
  const namedParams = ((doc.components as { parameters?: Record<string, Param> } | undefined)?.parameters) ?? {};
  const resolveParam = (p: Param): Param => (p.$ref ? namedParams[p.$ref.split('/').pop()!] ?? p : p);
  const out: OperationInfo[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    const shared = ((item as { parameters?: Param[] }).parameters ?? []).map(resolveParam);
    for (const method of METHODS) {
      const op = item[method] as
        | { operationId?: string; summary?: string; parameters?: Param[]; requestBody?: { required?: boolean } }
        | undefined;
      if (!op) continue;
      if (!op.operationId) throw new Error(`contract: ${method.toUpperCase()} ${path} has no operationId`);
      const params = [...shared, ...(op.parameters ?? []).map(resolveParam)];
      const initRequired = op.requestBody?.required === true || params.some((p) => p.required === true);
      out.push({ operationId: op.operationId, method, path, summary: op.summary, initRequired });
    }
  }
  return out;
}

/** `operations.ts`: one typed method per operation over openapi-fetch's `createClient<paths>()`. */
export function renderOperationsModule(ops: OperationInfo[], header: string): string {
  const methods = ops
    .map((op) => {
      const pathType = `paths[${JSON.stringify(op.path)}]`;
      const init = `init${op.initRequired ? '' : '?'}: MaybeOptionalInit<${pathType}, ${JSON.stringify(op.method)}>`;
      const doc = op.summary ? `    /** ${op.summary.replace(/\*\//g, '*\\/')} (\`${op.method.toUpperCase()} ${op.path}\`) */\n` : '';
      return `${doc}    ${op.operationId}(${init}) {\n      return client.${op.method.toUpperCase()}(${JSON.stringify(op.path)}, init);\n    },`;
    })
    .join('\n');
  const routes = ops
    .map((op) => `  ${op.operationId}: { method: ${JSON.stringify(op.method.toUpperCase())}, path: ${JSON.stringify(op.path)} },`)
    .join('\n');
  return `${header}
import createClient from 'openapi-fetch';
import type { Client, ClientOptions, MaybeOptionalInit } from 'openapi-fetch';
import type { paths } from './types.ts';

export type GatewayFetchClient = Client<paths, 'application/json'>;

/** Method and path of every operation, by operationId. */
export const operationRoutes = {
${routes}
} as const;

export type OperationId = keyof typeof operationRoutes;

/** The raw openapi-fetch client typed by the contract's \`paths\`. */
export function createFetchClient(options: ClientOptions): GatewayFetchClient {
  return createClient<paths, 'application/json'>(options);
}

/** One typed method per operation; each returns openapi-fetch's \`{ data, error, response }\`. */
export function createOperations(client: GatewayFetchClient) {
  return {
${methods}
  };
}

export type Operations = ReturnType<typeof createOperations>;
`;
}
