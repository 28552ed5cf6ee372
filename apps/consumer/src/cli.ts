// `node --conditions=source apps/consumer/src/cli.ts [--stream] [--json] "question"`: ask from the terminal.
// Prints the answer on stdout (with --json: the whole AssistantAnswer); where it came from on stderr.
// Exit code 0 for an answer from the service (model, fallback or degraded), 2 for the assistant's own fallback.
import { parseArgs } from 'node:util';
import { createAssistant } from './assistant.ts';
import { loadConsumerConfig } from './config.ts';

const USAGE = 'usage: cli.ts [--stream] [--json] "question"';
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { stream: { type: 'boolean', default: false }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } },
});
const question = positionals.join(' ').trim();
if (values.help || question === '') {
  process.stderr.write(`${USAGE}\n`);
  process.exit(values.help ? 0 : 64);
}
const config = loadConsumerConfig(process.env);
const assistant = createAssistant({ serviceUrl: config.serviceUrl, apiKey: config.apiKey, model: config.model });
const answer = await assistant.ask(question, { stream: values.stream });
if (values.json) process.stdout.write(`${JSON.stringify(answer)}\n`);
else {
  process.stdout.write(`${answer.answer}\n`);
  const how = answer.fallbackStrategy ? `${answer.source}: ${answer.fallbackStrategy}` : answer.source;
  process.stderr.write(`(${how}, model ${answer.model}, confidence ${answer.confidence}${answer.needs_human ? ', a person will follow up' : ''})\n`);
}
process.exitCode = answer.source === 'consumer-fallback' ? 2 : 0;
