/** `glmkit serve --model DIR [--host H] [--port P] [--api-key K]`: the OpenAI-compatible server. */
import { createServer } from '../server/app.js';
import { field, parseCommand } from './args.js';
import { modelDir } from './paths.js';

const spec = {
  name: 'serve',
  usage: 'glmkit serve --model DIR [options]',
  description: 'Serves an OpenAI-compatible API: /v1/models, /v1/chat/completions, /v1/completions, /health.',
  schema: {
    model: field('path', '', 'the model folder (config.json, model.safetensors and tokenizer.json)', { required: true, placeholder: 'dir' }),
    host: field('string', '127.0.0.1', 'address to listen on (127.0.0.1: this machine only)'),
    port: field('int', 8000, 'port (0 = any free port)', { min: 0, max: 65535 }),
    api_key: field<string | null>('string', null, 'require "Authorization: Bearer K" on /v1/* (default: GLMKIT_API_KEY or none)', { nullable: true, placeholder: 'key' }),
    model_name: field<string | null>('string', null, 'the model id clients send (default: the folder name)', { nullable: true, placeholder: 'name' }),
    max_batch: field('int', 8, 'sequences decoded together', { min: 1 }),
    max_pending: field('int', 64, 'requests in flight at most; more get HTTP 429', { min: 1 }),
    context: field<number | null>('int', null, 'tokens per sequence (default: min(max_position_embeddings, 4096); KV memory is reserved up front)', { nullable: true, min: 2 }),
    agent_dir: field<string | null>('path', null, 'enable server-side python (request field "agent": {"tools": ["python"]}); sessions live under DIR', { nullable: true, placeholder: 'dir' }),
    docs: field<string | null>('string', null, 'comma-separated files/folders for the server-side browser tool', { nullable: true, placeholder: 'paths' }),
    allow_host: field<string | null>('string', null, 'comma-separated hosts the server-side browser may fetch', { nullable: true, placeholder: 'list' }),
  },
};

export async function serveCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(spec, argv);
  if (!parsed) return 0;
  const v = parsed.values;
  modelDir('serve', '--model', v.model, true);
  const server = await createServer({
    modelDir: v.model,
    modelId: v.model_name ?? undefined,
    apiKey: v.api_key ?? process.env.GLMKIT_API_KEY ?? null,
    maxSlots: v.max_batch,
    maxPending: v.max_pending,
    contextLength: v.context ?? undefined,
    agent: { dir: v.agent_dir, docs: v.docs?.split(',').filter(Boolean), allowHosts: v.allow_host?.split(',').filter(Boolean) },
  });
  const url = await server.listen(v.host, v.port);
  console.log(`glmkit serve: ${server.context.modelId} at ${url}/v1 (ctrl-c to stop)`);
  await new Promise<void>((resolveStop) => {
    const stop = () => resolveStop();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await server.close();
  return 0;
}
