/**
 * Hugging Face `tokenizer.json` / `tokenizer_config.json` reading and writing.
 *
 * tokenizer.json: `model` (BPE: vocab, merges as "a b" strings or [a, b] pairs), `pre_tokenizer`
 * (Sequence of Split/ByteLevel), `decoder` (ByteLevel), `post_processor`, `added_tokens`.
 * tokenizer_config.json: chat_template, eos/pad tokens, model_max_length, added_tokens_decoder.
 * A real GLM-4 / GLM-4.5 tokenizer.json loads; what glmkit writes loads in transformers and
 * tokenizers.js with the same ids.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CheckpointError } from '../errors.js';
import { GLM_CHAT_TEMPLATE } from './chat-template.js';
import { GPT2_SPLIT_PATTERN, type PreTokenizerSpec } from './pretokenize.js';
import { Tokenizer, type AddedToken, type TokenizerSpec } from './tokenizer.js';

type Json = Record<string, unknown>;

function isObj(x: unknown): x is Json {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function fail(where: string, msg: string): never {
  throw new CheckpointError(`${where}: ${msg}`);
}

function parsePreTokenizer(node: unknown, where: string): PreTokenizerSpec {
  const spec: PreTokenizerSpec = { patterns: [], byteLevel: false, addPrefixSpace: false };
  const visit = (n: unknown, path: string): void => {
    if (n === null || n === undefined) return;
    if (!isObj(n)) fail(where, `${path} must be an object, got ${JSON.stringify(n)}`);
    switch (n.type) {
      case 'Sequence':
        if (!Array.isArray(n.pretokenizers)) fail(where, `${path}.pretokenizers must be an array`);
        n.pretokenizers.forEach((c, i) => visit(c, `${path}.pretokenizers[${i}]`));
        return;
      case 'Split': {
        if (n.behavior !== 'Isolated' || n.invert === true) {
          fail(where, `${path}: only Split with behavior "Isolated" and invert false is supported, got behavior ${JSON.stringify(n.behavior)} invert ${JSON.stringify(n.invert)}`);
        }
        const pat = n.pattern;
        if (isObj(pat) && typeof pat.Regex === 'string') spec.patterns.push(pat.Regex);
        else if (isObj(pat) && typeof pat.String === 'string') spec.patterns.push(pat.String.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'));
        else fail(where, `${path}.pattern must be {"Regex": string} or {"String": string}`);
        return;
      }
      case 'ByteLevel':
        if (spec.byteLevel) fail(where, `${path}: two ByteLevel pre-tokenizers`);
        spec.byteLevel = true;
        spec.addPrefixSpace = n.add_prefix_space === true;
        if (n.use_regex !== false) spec.patterns.push(GPT2_SPLIT_PATTERN);
        return;
      default:
        fail(where, `${path}: pre-tokenizer type ${JSON.stringify(n.type)} is not supported (glmkit reads Sequence, Split and ByteLevel, as GLM uses)`);
    }
  };
  visit(node, 'pre_tokenizer');
  return spec;
}

/** TemplateProcessing's single-sequence template as prefix / suffix ids (other processors add nothing). */
function parseTemplate(node: unknown, where: string): { prefix: number[]; suffix: number[] } | undefined {
  if (!isObj(node)) return undefined;
  if (node.type === 'Sequence' && Array.isArray(node.processors)) {
    for (const p of node.processors) {
      const t = parseTemplate(p, where);
      if (t) return t;
    }
    return undefined;
  }
  if (node.type !== 'TemplateProcessing' || !Array.isArray(node.single)) return undefined;
  const specials = isObj(node.special_tokens) ? node.special_tokens : {};
  const prefix: number[] = [];
  const suffix: number[] = [];
  let seenSeq = false;
  for (const piece of node.single) {
    if (isObj(piece) && isObj(piece.Sequence)) seenSeq = true;
    else if (isObj(piece) && isObj(piece.SpecialToken)) {
      const name = String(piece.SpecialToken.id);
      const entry = specials[name];
      if (!isObj(entry) || !Array.isArray(entry.ids)) fail(where, `post_processor: special token ${JSON.stringify(name)} has no ids`);
      (seenSeq ? suffix : prefix).push(...(entry.ids as number[]));
    }
  }
  return { prefix, suffix };
}

/** Parses the text of a tokenizer.json. `where` names the file in errors. */
export function parseTokenizerJson(text: string, where = 'tokenizer.json'): Tokenizer {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    fail(where, `not valid JSON (${(e as Error).message})`);
  }
  if (!isObj(doc)) fail(where, 'expected a JSON object');
  const model = doc.model;
  if (!isObj(model) || (model.type !== undefined && model.type !== 'BPE')) fail(where, `model.type must be "BPE", got ${JSON.stringify(isObj(model) ? model.type : model)}`);
  if (!isObj(model.vocab)) fail(where, 'model.vocab must be an object {token: id}');
  if (model.byte_fallback === true) fail(where, 'model.byte_fallback is not supported (GLM tokenizers are byte-level)');
  for (const k of ['continuing_subword_prefix', 'end_of_word_suffix'] as const) {
    if (model[k] !== null && model[k] !== undefined && model[k] !== '') fail(where, `model.${k} ${JSON.stringify(model[k])} is not supported (GLM's BPE has none)`);
  }
  if (doc.normalizer !== null && doc.normalizer !== undefined) fail(where, `normalizer ${JSON.stringify((doc.normalizer as Json).type)} is not supported; GLM tokenizers have none`);
  const vocab = new Map<string, number>();
  for (const [tok, id] of Object.entries(model.vocab)) {
    if (typeof id !== 'number') fail(where, `model.vocab[${JSON.stringify(tok)}] must be a number, got ${JSON.stringify(id)}`);
    vocab.set(tok, id);
  }
  const rawMerges = model.merges ?? [];
  if (!Array.isArray(rawMerges)) fail(where, 'model.merges must be an array');
  const merges: Array<[string, string]> = rawMerges.map((m, i) => {
    if (typeof m === 'string') {
      const sp = m.indexOf(' ', 1);
      if (sp < 0) fail(where, `model.merges[${i}] = ${JSON.stringify(m)} must be "left right"`);
      return [m.slice(0, sp), m.slice(sp + 1)];
    }
    if (Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && typeof m[1] === 'string') return [m[0], m[1]];
    return fail(where, `model.merges[${i}] must be "left right" or [left, right], got ${JSON.stringify(m)}`);
  });
  const addedTokens: AddedToken[] = [];
  for (const [i, t] of (Array.isArray(doc.added_tokens) ? doc.added_tokens : []).entries()) {
    if (!isObj(t) || typeof t.id !== 'number' || typeof t.content !== 'string') fail(where, `added_tokens[${i}] must have a numeric id and a string content`);
    addedTokens.push({
      id: t.id,
      content: t.content,
      special: t.special === true,
      single_word: t.single_word === true,
      lstrip: t.lstrip === true,
      rstrip: t.rstrip === true,
      normalized: t.normalized === true,
    });
  }
  const spec: TokenizerSpec = {
    vocab,
    merges,
    addedTokens,
    preTokenizer: parsePreTokenizer(doc.pre_tokenizer, where),
    ignoreMerges: model.ignore_merges === true,
    template: parseTemplate(doc.post_processor, where),
    passthrough: { post_processor: doc.post_processor ?? null, decoder: doc.decoder ?? null, truncation: doc.truncation ?? null, padding: doc.padding ?? null },
  };
  try {
    return new Tokenizer(spec);
  } catch (e) {
    fail(where, (e as Error).message);
  }
}

/** The tokenizer.json document of a tokenizer (HF tokenizers format, version 1.0). */
export function tokenizerToJson(tok: Tokenizer): Json {
  const spec = tok.spec;
  const pre = spec.preTokenizer;
  const byteLevelStep = { type: 'ByteLevel', add_prefix_space: pre.addPrefixSpace, trim_offsets: true, use_regex: false };
  const splits = pre.patterns.map((p) => ({ type: 'Split', pattern: { Regex: p }, behavior: 'Isolated', invert: false }));
  const steps = pre.byteLevel ? [...splits, byteLevelStep] : splits;
  const vocab: Record<string, number> = {};
  for (const [t, id] of [...spec.vocab].sort((a, b) => a[1] - b[1])) vocab[t] = id;
  const pass = spec.passthrough ?? {};
  return {
    version: '1.0',
    truncation: pass.truncation ?? null,
    padding: pass.padding ?? null,
    added_tokens: tok.addedTokens.map((t) => ({
      id: t.id,
      content: t.content,
      single_word: t.single_word ?? false,
      lstrip: t.lstrip ?? false,
      rstrip: t.rstrip ?? false,
      normalized: t.normalized ?? false,
      special: t.special,
    })),
    normalizer: null,
    pre_tokenizer: steps.length === 1 ? steps[0] : { type: 'Sequence', pretokenizers: steps },
    post_processor: pass.post_processor ?? null,
    decoder: pass.decoder ?? (pre.byteLevel ? { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true } : null),
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: spec.ignoreMerges ?? false,
      vocab,
      merges: spec.merges.map(([a, b]) => [a, b]),
    },
  };
}

/** The tokenizer_config.json document (transformers' PreTrainedTokenizerFast settings + chat template). */
export function tokenizerConfigToJson(tok: Tokenizer): Json {
  const decoderMap: Record<string, Json> = {};
  for (const t of tok.addedTokens) {
    decoderMap[String(t.id)] = { content: t.content, lstrip: t.lstrip ?? false, normalized: t.normalized ?? false, rstrip: t.rstrip ?? false, single_word: t.single_word ?? false, special: t.special };
  }
  return {
    added_tokens_decoder: decoderMap,
    additional_special_tokens: tok.addedTokens.filter((t) => t.special && t.content !== tok.config.eosToken).map((t) => t.content),
    chat_template: tok.config.chatTemplate ?? GLM_CHAT_TEMPLATE,
    clean_up_tokenization_spaces: false,
    do_lower_case: false,
    eos_token: tok.config.eosToken,
    pad_token: tok.config.padToken,
    model_max_length: tok.config.modelMaxLength,
    padding_side: 'left',
    remove_space: false,
    tokenizer_class: 'PreTrainedTokenizerFast',
  };
}

/** Writes tokenizer.json and tokenizer_config.json into dir (created if missing). */
export function saveTokenizer(tok: Tokenizer, dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tokenizerToJson(tok)));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(tokenizerConfigToJson(tok), null, 2) + '\n');
}

/** Reads a tokenizer folder (tokenizer.json, and tokenizer_config.json when present). */
export function loadTokenizer(dir: string): Tokenizer {
  const path = join(dir, 'tokenizer.json');
  if (!existsSync(path)) throw new CheckpointError(`${path}: not found; a tokenizer folder holds tokenizer.json (make one with \`glmkit tokenizer train\`)`);
  const tok = parseTokenizerJson(readFileSync(path, 'utf8'), path);
  const cfgPath = join(dir, 'tokenizer_config.json');
  if (existsSync(cfgPath)) {
    let cfg: unknown;
    try {
      cfg = JSON.parse(readFileSync(cfgPath, 'utf8'));
    } catch (e) {
      throw new CheckpointError(`${cfgPath}: not valid JSON (${(e as Error).message})`);
    }
    if (!isObj(cfg)) throw new CheckpointError(`${cfgPath}: expected a JSON object`);
    const tokenName = (v: unknown): string | undefined => (typeof v === 'string' ? v : isObj(v) && typeof v.content === 'string' ? v.content : undefined);
    tok.config = {
      eosToken: tokenName(cfg.eos_token) ?? tok.config.eosToken,
      padToken: tokenName(cfg.pad_token) ?? tok.config.padToken,
      modelMaxLength: typeof cfg.model_max_length === 'number' ? cfg.model_max_length : tok.config.modelMaxLength,
      chatTemplate: typeof cfg.chat_template === 'string' ? cfg.chat_template : null,
    };
  }
  checkFitsModel(dir, tok);
  return tok;
}

/**
 * In a model folder (config.json beside tokenizer.json), every tokenizer id must be a row of the
 * embedding: a tokenizer with more ids than `vocab_size` belongs to another model (e.g. one replaced by
 * `glmkit tokenizer train --out MODEL_DIR`), and running on it would index past the embedding table.
 */
function checkFitsModel(dir: string, tok: Tokenizer): void {
  const cfgPath = join(dir, 'config.json');
  if (!existsSync(cfgPath)) return;
  let vocab: unknown;
  try {
    vocab = (JSON.parse(readFileSync(cfgPath, 'utf8')) as { vocab_size?: unknown }).vocab_size;
  } catch {
    return; // a broken config.json is reported by the model loader, which names the problem
  }
  if (typeof vocab !== 'number' || tok.vocabSize <= vocab) return;
  const outside = tok.addedTokens.filter((t) => t.id >= vocab).map((t) => `${t.content} = ${t.id}`);
  throw new CheckpointError(
    `${dir}: the tokenizer has ${tok.vocabSize} ids but the model's config.json has vocab_size ${vocab}${outside.length ? `; special tokens outside the model: ${outside.slice(0, 4).join(', ')}${outside.length > 4 ? ', ...' : ''}` : ''}. The tokenizer belongs to another model: restore this model's tokenizer.json, or train one with --vocab-size <= ${vocab}`,
  );
}
