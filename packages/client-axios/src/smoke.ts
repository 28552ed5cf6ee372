// A smoke check of a running service through the openapi-generator client; point it at the
// real service once it runs: `checkService({ baseUrl: 'http://127.0.0.1:8080', apiKey })`.
import axios from 'axios';
import { ChatApi, Configuration, HealthApi, JobsApi, ModelsApi } from './generated';

export interface ServiceCheckOptions {
  baseUrl: string;
  apiKey?: string;
  model?: string;
  timeoutMs?: number;
}

export interface ServiceCheckResult {
  name: string;
  ok: boolean;
  status?: number;
  detail: string;
}

export function createAxiosClients(options: { baseUrl: string; apiKey?: string; timeoutMs?: number }) {
  const configuration = new Configuration({ basePath: options.baseUrl.replace(/\/+$/, ''), accessToken: options.apiKey });
  const instance = axios.create({ timeout: options.timeoutMs ?? 30_000 });
  return {
    chat: new ChatApi(configuration, undefined, instance),
    models: new ModelsApi(configuration, undefined, instance),
    jobs: new JobsApi(configuration, undefined, instance),
    health: new HealthApi(configuration, undefined, instance),
  };
}

/** Calls each operation once and checks the answers have the contract's shape. Never throws. */
export async function checkService(options: ServiceCheckOptions): Promise<ServiceCheckResult[]> {
  const api = createAxiosClients(options);
  const model = options.model ?? 'gpt-4o-mini';
  const results: ServiceCheckResult[] = [];
  const check = async (name: string, run: () => Promise<{ status: number; detail: string; ok: boolean }>) => {
    try {
      results.push({ name, ...(await run()) });
    } catch (error) {
      const response = (error as { response?: { status: number; data?: { error?: { code?: string } } } }).response;
      results.push({ name, ok: false, status: response?.status, detail: response ? `error ${response.data?.error?.code ?? 'unknown'}` : String(error) });
    }
  };
  await check('getHealth', async () => {
    const r = await api.health.getHealth();
    return { status: r.status, ok: r.data.status === 'ok', detail: `status=${r.data.status}` };
  });
  await check('getReadiness', async () => {
    const r = await api.health.getReadiness();
    return { status: r.status, ok: Array.isArray(r.data.checks), detail: `status=${r.data.status}` };
  });
  await check('listModels', async () => {
    const r = await api.models.listModels();
    return { status: r.status, ok: r.data.object === 'list' && Array.isArray(r.data.data), detail: `${r.data.data.length} models` };
  });
  await check('createChatCompletion', async () => {
    const r = await api.chat.createChatCompletion({ model, messages: [{ role: 'user', content: 'ping' }] } as unknown as { [key: string]: object });
    const data = r.data as unknown as { object?: string; choices?: unknown[] };
    const ok = r.status === 200 ? data.object === 'chat.completion' && Array.isArray(data.choices) : r.status === 202 && data.object === 'chat.completion.job';
    return { status: r.status, ok, detail: `object=${data.object}` };
  });
  await check('getJob (unknown id → 404)', async () => {
    try {
      await api.jobs.getJob('job_does_not_exist');
      return { status: 200, ok: false, detail: 'expected 404' };
    } catch (error) {
      const response = (error as { response?: { status: number; data?: { error?: { code?: string } } } }).response;
      if (!response) throw error;
      return { status: response.status, ok: response.status === 404 && response.data?.error?.code === 'job_not_found', detail: `code=${response.data?.error?.code}` };
    }
  });
  return results;
}
