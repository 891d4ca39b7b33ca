/** `glmkit serve --model DIR [--host H] [--port P] [--api-key K]`: the OpenAI-compatible server. */
import { UsageError } from '../errors.js';
import { createServer } from '../server/app.js';
import { intFlag, parseFlags } from './args.js';

const HELP = `usage: glmkit serve --model DIR [options]

Serves an OpenAI-compatible API: /v1/models, /v1/chat/completions, /v1/completions, /health.

  --host H            address to listen on (default 127.0.0.1: this machine only)
  --port P            port (default 8000; 0 = any free port)
  --api-key K         require "Authorization: Bearer K" on /v1/* (default: GLMKIT_API_KEY or none)
  --model-name NAME   the model id clients send (default: the folder name)
  --max-batch N       sequences decoded together (default 8)
  --max-pending N     requests in flight at most; more get HTTP 429 (default 64)
  --context N         tokens per sequence (default: min(max_position_embeddings, 4096); KV memory is reserved up front)
  --agent-dir DIR     enable server-side python (request field "agent": {"tools": ["python"]}); sessions live under DIR
  --docs PATHS        comma-separated files/folders for the server-side browser tool
  --allow-host LIST   comma-separated hosts the server-side browser may fetch`;

export async function serveCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags('serve', argv, {
    model: { type: 'string' },
    host: { type: 'string' },
    port: { type: 'string' },
    'api-key': { type: 'string' },
    'model-name': { type: 'string' },
    'max-batch': { type: 'string' },
    'max-pending': { type: 'string' },
    context: { type: 'string' },
    'agent-dir': { type: 'string' },
    docs: { type: 'string' },
    'allow-host': { type: 'string' },
    help: { type: 'boolean' },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (!values.model) throw new UsageError('serve: --model DIR is required (a model folder with config.json, model.safetensors and tokenizer.json)');
  const server = await createServer({
    modelDir: values.model,
    modelId: values['model-name'],
    apiKey: values['api-key'] ?? process.env.GLMKIT_API_KEY ?? null,
    maxSlots: intFlag('serve', 'max-batch', values['max-batch'], 8, 1),
    maxPending: intFlag('serve', 'max-pending', values['max-pending'], 64, 1),
    contextLength: values.context === undefined ? undefined : intFlag('serve', 'context', values.context, 0, 2),
    agent: { dir: values['agent-dir'] ?? null, docs: values.docs?.split(',').filter(Boolean), allowHosts: values['allow-host']?.split(',').filter(Boolean) },
  });
  const url = await server.listen(values.host ?? '127.0.0.1', intFlag('serve', 'port', values.port, 8000, 0));
  console.log(`glmkit serve: ${server.context.modelId} at ${url}/v1 (ctrl-c to stop)`);
  await new Promise<void>((resolveStop) => {
    const stop = () => resolveStop();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await server.close();
  return 0;
}
