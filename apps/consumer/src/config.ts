// Environment of the consumer app and its CLI, with their defaults.
export const DEFAULT_CONSUMER_PORT = 8090;
/** The service started by the README's `npm start`. */
export const DEFAULT_SERVICE_URL = 'http://127.0.0.1:8080';
/** The service's development key (README). */
export const DEFAULT_API_KEY = 'sk-local-dev';

export interface ConsumerConfig {
  port: number;
  serviceUrl: string;
  apiKey: string;
  model: string | undefined;
}

export function loadConsumerConfig(env: Readonly<Record<string, string | undefined>>): ConsumerConfig {
  const port = env.CONSUMER_PORT === undefined ? DEFAULT_CONSUMER_PORT : Number(env.CONSUMER_PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error(`CONSUMER_PORT: must be a port number, got '${env.CONSUMER_PORT}'`);
  return {
    port,
    serviceUrl: env.LLM_SERVICE_URL || DEFAULT_SERVICE_URL,
    apiKey: env.LLM_API_KEY || DEFAULT_API_KEY,
    model: env.LLM_MODEL || undefined,
  };
}
