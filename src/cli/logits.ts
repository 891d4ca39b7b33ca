/** `glmkit logits --model DIR --ids 1,2,3`: next-token logits at every position, as JSON. */
import { UsageError } from '../errors.js';
import { noGrad } from '../tensor/autograd.js';
import { Tensor } from '../tensor/tensor.js';
import { loadCausalLM } from '../models/glm/checkpoint.js';
import { parseFlags } from './args.js';

const HELP = `usage: glmkit logits --model DIR --ids 1,2,3

Prints {"logits": [[...vocab floats...], ...]}: one row of next-token logits per input position.`;

/** Parses "1,2,3" into token ids, naming the bad entry. */
export function parseIds(command: string, text: string | undefined): number[] {
  if (!text) throw new UsageError(`${command}: --ids is required, e.g. --ids 1,2,3`);
  return text.split(',').map((s, i) => {
    const n = Number(s.trim());
    if (s.trim() === '' || !Number.isInteger(n) || n < 0) throw new UsageError(`${command}: --ids entry ${i} ('${s}') is not a token id (an integer >= 0)`);
    return n;
  });
}

export async function logitsCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags('logits', argv, { model: { type: 'string' }, ids: { type: 'string' }, help: { type: 'boolean' } });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (!values.model) throw new UsageError('logits: --model DIR is required');
  const ids = parseIds('logits', values.ids);
  const model = loadCausalLM(values.model);
  const V = model.config.vocabSize;
  const bad = ids.find((t) => t >= V);
  if (bad !== undefined) throw new UsageError(`logits: token id ${bad} is outside the vocabulary [0, ${V})`);
  const logits = noGrad(() => model.forward(Tensor.ids(ids, [1, ids.length])).logits!);
  const rows = ids.map((_, t) => Array.from(logits.data.subarray(t * V, (t + 1) * V)));
  process.stdout.write(JSON.stringify({ logits: rows }) + '\n');
  return 0;
}
