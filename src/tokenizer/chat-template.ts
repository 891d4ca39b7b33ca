/**
 * GLM-4.5's chat format (docs/methods.md §2), rendered in TypeScript and, identically, by the Jinja
 * `chat_template` glmkit writes into tokenizer_config.json (GLM_CHAT_TEMPLATE below).
 *
 * Byte format (that of the public GLM-4.5 template, which glmkit follows; summary in docs/methods.md §2):
 *   [gMASK]<sop>
 *   tools:      <|system|>\n# Tools\n\n...<tools>\n{tool JSON}\n...</tools>\n\n...format example...</tool_call>
 *   system:     <|system|>\n{content}
 *   user:       <|user|>\n{content}            + "/nothink" when enable_thinking is false
 *                                                (not when the text already ends with it)
 *               an image part of the content:   <|begin_of_image|>{<|image|> x N}<|end_of_image|>
 *                                                in its place among the text parts (GLM-4.1V's layout;
 *                                                N = 1 in the Jinja template, where the processor
 *                                                expands it; the renderer takes N per image)
 *   assistant:  <|assistant|>\n<think>{reasoning.strip()}</think>   (only after the last user turn,
 *                                                and only when reasoning is non-empty)
 *               <|assistant|>\n<think></think>                     (otherwise)
 *               then "\n" + content.strip() when that is non-empty
 *               then per call "\n<tool_call>{name}\n" + per argument
 *               "<arg_key>{k}</arg_key>\n<arg_value>{v}</arg_value>\n" + "</tool_call>"
 *   tool:       "<|observation|>" once per run of tool messages, then per message
 *               "\n<tool_response>\n{content}\n</tool_response>"
 *   generation: <|assistant|>  (+ "\n<think></think>" when enable_thinking is false)
 * Messages follow each other with no separator. Details of the real template that are easy to miss:
 * the empty `<think></think>` is written for every assistant turn without kept reasoning
 * (also in thinking mode), content and reasoning are stripped of surrounding whitespace, a
 * `</think>` inside content is split into reasoning when reasoning_content is absent, and the
 * tool JSON / non-string argument values are Python-style JSON (", " and ": " separators, no ASCII
 * escaping). glmkit choices: null assistant content renders as empty (Python's template would print
 * "None"), numbers print as JavaScript prints them (1.0 -> 1), and `strip()` is JavaScript's trim().
 */
import { ConfigError } from '../errors.js';
import { conversationImages, type NormalConversation } from './chat-validate.js';
import { IMAGE_BEGIN_TOKEN, IMAGE_END_TOKEN, IMAGE_TOKEN } from './special-tokens.js';

/** A piece of rendered text: a special token, or text; `train` marks assistant-turn output. */
export interface Segment {
  text: string;
  special: boolean;
  train: boolean;
}

/** Special tokens the template writes itself. */
const TEMPLATE_SPECIALS = ['[gMASK]', '<sop>', '<|system|>', '<|user|>', '<|assistant|>', '<|observation|>', '<think>', '</think>', '<tool_call>', '</tool_call>', '<arg_key>', '</arg_key>', '<arg_value>', '</arg_value>', '<tool_response>', '</tool_response>', '/nothink', IMAGE_BEGIN_TOKEN, IMAGE_TOKEN, IMAGE_END_TOKEN];
const SPECIAL_RE = new RegExp(`(${TEMPLATE_SPECIALS.map((s) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|')})`);

const TOOLS_HEAD =
  '<|system|>\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>\n';
const TOOLS_TAIL =
  '</tools>\n\nFor each function call, output the function name and arguments within the following XML format:\n<tool_call>{function-name}\n<arg_key>{arg-key-1}</arg_key>\n<arg_value>{arg-value-1}</arg_value>\n<arg_key>{arg-key-2}</arg_key>\n<arg_value>{arg-value-2}</arg_value>\n...\n</tool_call>';

/**
 * JSON as Python's json.dumps(ensure_ascii=False) writes it (what transformers' `tojson` gives):
 * ", " between items, ": " after keys, non-ASCII kept.
 */
export function pythonJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return '[' + value.map(pythonJson).join(', ') + ']';
  if (typeof value === 'object') {
    return '{' + Object.entries(value as Record<string, unknown>).map(([k, v]) => JSON.stringify(k) + ': ' + pythonJson(v)).join(', ') + '}';
  }
  return JSON.stringify(value);
}

export interface SegmentOptions {
  /** Train only on assistant turns after the last user message. */
  lastTurnOnly?: boolean;
  /**
   * `<|image|>` tokens per image, in order of appearance (what the image processor computes from
   * each image's grid); default one per image, as the Jinja template writes before expansion.
   */
  imageTokenCounts?: readonly number[];
}

/** Builds the segment list; see the file comment for the format. */
export function renderSegments(conv: NormalConversation, opts: SegmentOptions = {}): Segment[] {
  const counts = opts.imageTokenCounts;
  if (counts !== undefined) {
    const n = conversationImages(conv).length;
    if (counts.length !== n) throw new ConfigError(`imageTokenCounts: the conversation holds ${n} image(s) but ${counts.length} token count(s) were given; pass one count per image, in order`);
    counts.forEach((c, i) => {
      if (!Number.isInteger(c) || c < 1) throw new ConfigError(`imageTokenCounts[${i}]: expected an integer >= 1, got ${c}`);
    });
  }
  let imageIndex = 0;
  const out: Segment[] = [];
  /** Template-authored text: its special-token strings become special segments. */
  const tpl = (text: string, train = false) => {
    for (const part of text.split(SPECIAL_RE)) {
      if (part.length === 0) continue;
      out.push({ text: part, special: TEMPLATE_SPECIALS.includes(part), train });
    }
  };
  /** Caller-supplied text: never turned into special tokens. */
  const txt = (text: string, train = false) => {
    if (text.length > 0) out.push({ text, special: false, train });
  };
  const thinkingOff = !conv.enableThinking;
  const msgs = conv.messages;
  let lastUser = -1;
  msgs.forEach((m, i) => {
    if (m.role === 'user') lastUser = i;
  });

  tpl('[gMASK]<sop>');
  if (conv.tools.length > 0) {
    tpl(TOOLS_HEAD);
    for (const tool of conv.tools) txt(pythonJson(tool) + '\n');
    tpl(TOOLS_TAIL);
  }
  msgs.forEach((m, i) => {
    switch (m.role) {
      case 'system':
        tpl('<|system|>\n');
        txt(m.content);
        break;
      case 'user': {
        tpl('<|user|>\n');
        let rendered = m.content;
        if (m.parts) {
          rendered = '';
          for (const p of m.parts) {
            if (p.type === 'text') {
              txt(p.text);
              rendered += p.text;
              continue;
            }
            const n = counts?.[imageIndex] ?? 1;
            imageIndex++;
            tpl(IMAGE_BEGIN_TOKEN + IMAGE_TOKEN.repeat(n) + IMAGE_END_TOKEN);
            rendered += IMAGE_END_TOKEN;
          }
        } else txt(m.content);
        if (thinkingOff && !rendered.endsWith('/nothink')) tpl('/nothink');
        break;
      }
      case 'assistant': {
        const train = !opts.lastTurnOnly || i > lastUser;
        tpl('<|assistant|>');
        let content = m.content;
        let reasoning = '';
        if (m.reasoning !== undefined) reasoning = m.reasoning;
        else if (content.includes('</think>')) {
          const parts = content.split('</think>');
          reasoning = parts[0].replace(/\n+$/, '').split('<think>').at(-1)!.replace(/^\n+/, '');
          content = parts.at(-1)!.replace(/^\n+/, '');
        }
        if (i > lastUser && reasoning.length > 0) {
          tpl('\n<think>', train);
          txt(reasoning.trim(), train);
          tpl('</think>', train);
        } else tpl('\n<think></think>', train);
        if (content.trim().length > 0) {
          tpl('\n', train);
          txt(content.trim(), train);
        }
        for (const call of m.toolCalls) {
          tpl('\n<tool_call>', train);
          txt(call.name, train);
          tpl('\n', train);
          for (const [k, v] of Object.entries(call.arguments)) {
            tpl('<arg_key>', train);
            txt(k, train);
            tpl('</arg_key>\n<arg_value>', train);
            txt(typeof v === 'string' ? v : pythonJson(v), train);
            tpl('</arg_value>\n', train);
          }
          tpl('</tool_call>', train);
        }
        break;
      }
      case 'tool':
        if (i === 0 || msgs[i - 1].role !== 'tool') tpl('<|observation|>');
        tpl('\n<tool_response>\n');
        txt(m.content);
        tpl('\n</tool_response>');
        break;
    }
  });
  if (conv.addGenerationPrompt) {
    tpl('<|assistant|>');
    if (thinkingOff) tpl('\n<think></think>');
  }
  return out;
}

/** The rendered prompt text (what the Jinja template gives for the same conversation). */
export function renderSegmentsText(segments: Segment[]): string {
  let s = '';
  for (const seg of segments) s += seg.text;
  return s;
}

/** A Jinja single-quoted string literal holding s. */
function jinjaString(s: string): string {
  return "'" + s.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n') + "'";
}

/**
 * glmkit's Jinja chat template, written for tokenizer_config.json. It renders byte-identically to
 * renderSegments (tests check it through @huggingface/jinja) and in transformers. Literal text sits
 * in string expressions with `-` whitespace control everywhere, so trim_blocks / lstrip_blocks do
 * not change its output. Tool-call arguments must be objects here (transformers and vLLM pass them
 * so); glmkit's renderer also accepts OpenAI's JSON strings.
 */
export const GLM_CHAT_TEMPLATE = [
  "{#- GLM-4.5 chat format, written by glmkit (see src/tokenizer/chat-template.ts) -#}",
  "{%- macro text_of(c) -%}",
  "{%- if c is string -%}{{- c -}}",
  "{%- elif c is iterable and c is not mapping -%}{%- for p in c -%}{%- if p is string -%}{{- p -}}{%- elif p.type == 'text' -%}{{- p.text -}}",
  `{%- elif p.type == 'image' or p.type == 'image_url' -%}{{- '${IMAGE_BEGIN_TOKEN}${IMAGE_TOKEN}${IMAGE_END_TOKEN}' -}}{%- endif -%}{%- endfor -%}`,
  "{%- endif -%}",
  "{%- endmacro -%}",
  "{%- set thinking_off = enable_thinking is defined and enable_thinking is not none and not enable_thinking -%}",
  "{{- '[gMASK]<sop>' -}}",
  "{%- if tools -%}",
  `{{- ${jinjaString(TOOLS_HEAD)} -}}`,
  "{%- for tool in tools -%}{{- tool | tojson(ensure_ascii=False) -}}{{- '\\n' -}}{%- endfor -%}",
  `{{- ${jinjaString(TOOLS_TAIL)} -}}`,
  "{%- endif -%}",
  "{%- set ns = namespace(last_user=-1) -%}",
  "{%- for m in messages -%}{%- if m.role == 'user' -%}{%- set ns.last_user = loop.index0 -%}{%- endif -%}{%- endfor -%}",
  "{%- for m in messages -%}",
  "{%- if m.role == 'system' -%}",
  "{{- '<|system|>\\n' -}}{{- text_of(m.content) -}}",
  "{%- elif m.role == 'user' -%}",
  "{%- set user_text = text_of(m.content) -%}",
  "{{- '<|user|>\\n' -}}{{- user_text -}}",
  "{%- if thinking_off and not user_text.endswith('/nothink') -%}{{- '/nothink' -}}{%- endif -%}",
  "{%- elif m.role == 'assistant' -%}",
  "{%- set content = text_of(m.content) -%}",
  "{%- set reasoning = '' -%}",
  "{%- if m.reasoning_content is string -%}",
  "{%- set reasoning = m.reasoning_content -%}",
  "{%- elif '</think>' in content -%}",
  "{%- set reasoning = content.split('</think>')[0].rstrip('\\n').split('<think>')[-1].lstrip('\\n') -%}",
  "{%- set content = content.split('</think>')[-1].lstrip('\\n') -%}",
  "{%- endif -%}",
  "{{- '<|assistant|>' -}}",
  "{%- if loop.index0 > ns.last_user and reasoning -%}{{- '\\n<think>' + reasoning.strip() + '</think>' -}}",
  "{%- else -%}{{- '\\n<think></think>' -}}{%- endif -%}",
  "{%- if content.strip() -%}{{- '\\n' + content.strip() -}}{%- endif -%}",
  "{%- if m.tool_calls -%}{%- for tc in m.tool_calls -%}",
  "{%- set f = tc.function if tc.function else tc -%}",
  "{{- '\\n<tool_call>' + f.name + '\\n' -}}",
  "{%- for k, v in f.arguments.items() -%}",
  "{{- '<arg_key>' + k + '</arg_key>\\n<arg_value>' -}}",
  "{%- if v is string -%}{{- v -}}{%- else -%}{{- v | tojson(ensure_ascii=False) -}}{%- endif -%}",
  "{{- '</arg_value>\\n' -}}",
  "{%- endfor -%}",
  "{{- '</tool_call>' -}}",
  "{%- endfor -%}{%- endif -%}",
  "{%- elif m.role == 'tool' -%}",
  "{%- if loop.first or messages[loop.index0 - 1].role != 'tool' -%}{{- '<|observation|>' -}}{%- endif -%}",
  "{{- '\\n<tool_response>\\n' -}}{{- m.content -}}{{- '\\n</tool_response>' -}}",
  "{%- endif -%}",
  "{%- endfor -%}",
  "{%- if add_generation_prompt -%}{{- '<|assistant|>' -}}{%- if thinking_off -%}{{- '\\n<think></think>' -}}{%- endif -%}{%- endif -%}",
].join('\n');
