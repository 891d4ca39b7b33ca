/** `glmkit serve --model DIR [--host H] [--port P] [--api-key K]`: the OpenAI-compatible server. */
import { startServe } from '../server/serve-start.js';
import { dtypeField, field, parseCommand, usageError } from './args.js';
import { inputDir, inputFile, modelDir } from './paths.js';

const spec = {
  name: 'serve',
  usage: 'glmkit serve --model DIR [--embedding-model DIR] [--reward-model DIR] [options]   |   glmkit serve --embedding-model DIR | --reward-model DIR [options]',
  description: 'Serves an OpenAI-compatible API: /v1/models, /v1/chat/completions, /v1/completions, /health,\n/v1/embeddings when given a sentence encoder (--embedding-model), /v1/score when given a reward model (--reward-model); with a chat model, the web UI\n(chat, compare-and-label, runs dashboard) at / (docs/web-ui.md).',
  schema: {
    model: field<string | string[] | null>('path', null, 'the chat model folder (config.json, model.safetensors and tokenizer.json); given twice, both are served and the Label tab compares them', { nullable: true, placeholder: 'dir', multiple: true }),
    embedding_model: field<string | null>('path', null, 'a sentence-encoder folder (made by glmkit embed train) served on /v1/embeddings', { nullable: true, placeholder: 'dir' }),
    reward_model: field<string | null>('path', null, 'a reward model folder (glmkit reward, or reward --process) served on POST /v1/score (docs/scaling.md)', { nullable: true, placeholder: 'dir' }),
    reward_model_name: field<string | null>('string', null, 'the reward model id clients send (default: the folder name)', { nullable: true, placeholder: 'name' }),
    embedding_model_name: field<string | null>('string', null, 'the embedding model id clients send (default: the folder name)', { nullable: true, placeholder: 'name' }),
    host: field('string', '127.0.0.1', 'address to listen on (127.0.0.1: this machine only)'),
    port: field('int', 8000, 'port (0 = any free port)', { min: 0, max: 65535 }),
    api_key: field<string | null>('string', null, 'require "Authorization: Bearer K" on /v1/* (default: GLMKIT_API_KEY or none)', { nullable: true, placeholder: 'key' }),
    model_name: field<string | null>('string', null, 'the model id clients send (default: the folder name)', { nullable: true, placeholder: 'name' }),
    max_batch: field('int', 8, 'sequences decoded together', { min: 1 }),
    dtype: dtypeField(),
    max_pending: field('int', 64, 'requests in flight at most; more get HTTP 429', { min: 1 }),
    context: field<number | null>('int', null, 'tokens per sequence (default: min(max_position_embeddings, 4096); KV memory is reserved up front)', { nullable: true, min: 2 }),
    agent_dir: field<string | null>('path', null, 'enable server-side python (request field "agent": {"tools": ["python"]}); sessions live under DIR', { nullable: true, placeholder: 'dir' }),
    docs: field<string | null>('string', null, 'comma-separated files/folders for the server-side browser tool', { nullable: true, placeholder: 'paths' }),
    request_timeout: field<number | null>('number', null, 'seconds a generation request may run; longer ones are stopped with HTTP 504 (default: no limit)', { nullable: true, min: 0.001, placeholder: 'seconds' }),
    enable_weight_updates: field('boolean', false, 'enable POST /update_weights_from_disk (RL trainers push new weights; needs --weights-root)'),
    weights_root: field<string | null>('path', null, 'folders under DIR may be loaded by /update_weights_from_disk', { nullable: true, placeholder: 'dir' }),
    allow_host: field<string | null>('string', null, 'comma-separated hosts the server-side browser may fetch', { nullable: true, placeholder: 'list' }),
    runs: field<string | null>('path', null, 'a folder of run folders shown on the web UI\'s Runs tab', { nullable: true, placeholder: 'dir' }),
    labels: field<string | null>('path', null, 'SQLite file of preference labels for the Label tab (created on first use)', { nullable: true, placeholder: 'file.db' }),
    label_prompts: field<string | null>('path', null, 'prompts JSONL ({"prompt": "..."} or {"messages": [...]}) queued for labelling', { nullable: true, placeholder: 'file' }),
    image_root: field<string | null>('path', null, 'vision models (glm4v): image_url file paths are read only inside DIR (relative ones against it); default: data URLs only', { nullable: true, placeholder: 'dir' }),
    image_allow_host: field<string | string[] | null>('string', null, 'vision models: http(s) image URLs are fetched from this host (host or host:port); default: none', { nullable: true, multiple: true, placeholder: 'host' }),
    max_image_bytes: field('int', 32 * 1024 * 1024, 'vision models: largest request image in bytes (data URL, file or download)', { min: 1 }),
  },
};

export async function serveCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(spec, argv);
  if (!parsed) return 0;
  const v = parsed.values;
  if (v.model === null && v.embedding_model === null && v.reward_model === null) throw usageError('serve', 'give --model DIR (a chat model), --embedding-model DIR (a sentence encoder) and/or --reward-model DIR (a reward model)');
  const models = v.model === null ? [] : Array.isArray(v.model) ? v.model : [v.model];
  for (const m of models) modelDir('serve', '--model', m, true);
  if (models.length > 1 && v.model_name !== null) throw usageError('serve', '--model-name names one model; with several --model folders each is served under its folder name');
  if (v.embedding_model !== null) modelDir('serve', '--embedding-model', v.embedding_model, true);
  if (v.reward_model !== null) modelDir('serve', '--reward-model', v.reward_model, true);
  if (v.runs !== null) inputDir('serve', '--runs', v.runs, 'a folder of run folders');
  if (v.label_prompts !== null) inputFile('serve', '--label-prompts', v.label_prompts, 'a prompts JSONL file');
  if (v.label_prompts !== null && v.labels === null) throw usageError('serve', '--label-prompts needs --labels FILE.db (where the labels are stored)');
  if (v.enable_weight_updates && v.weights_root === null) throw usageError('serve', '--enable-weight-updates needs --weights-root DIR (the folder the trainer writes its checkpoints under)');
  if (v.weights_root !== null && !v.enable_weight_updates) throw usageError('serve', '--weights-root is only used with --enable-weight-updates; add it or drop --weights-root');
  if (v.image_root !== null) inputDir('serve', '--image-root', v.image_root, 'a folder of images');
  const allowHosts = v.image_allow_host === null ? [] : Array.isArray(v.image_allow_host) ? v.image_allow_host : [v.image_allow_host];
  return startServe({ ...v, model: models[0] ?? null, more_models: models.slice(1), images: { root: v.image_root, allowHosts, maxBytes: v.max_image_bytes } });
}
