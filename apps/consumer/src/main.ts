// `node --conditions=source apps/consumer/src/main.ts`: the assistant's HTTP API.
// Env: CONSUMER_PORT (8090), LLM_SERVICE_URL (http://127.0.0.1:8080), LLM_API_KEY (sk-local-dev), LLM_MODEL (gpt-4o-mini).
import { loadConsumerConfig } from './config.ts';
import { startConsumer } from './server.ts';

const config = loadConsumerConfig(process.env);
const consumer = await startConsumer(config);
process.stdout.write(`support assistant listening on ${consumer.url} (service ${config.serviceUrl})\n`);
const stop = () => void consumer.close().then(() => process.exit(0));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
