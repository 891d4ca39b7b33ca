/** `glmkit logits --model DIR --ids 1,2,3`: next-token logits at every position, as JSON. */
import { UsageError } from '../errors.js';
import { noGrad } from '../tensor/autograd.js';
import { Tensor } from '../tensor/tensor.js';
import { loadCausalLM } from '../models/glm/checkpoint.js';
import { field, parseCommand } from './args.js';
import { modelDir } from './paths.js';

const spec = {
  name: 'logits',
  usage: 'glmkit logits --model DIR --ids 1,2,3',
  description: 'Prints {"logits": [[...vocab floats...], ...]}: one row of next-token logits per input position.',
  schema: {
    model: field('path', '', 'the model folder', { required: true, placeholder: 'dir' }),
    ids: field('string', '', 'input token ids, e.g. 1,2,3', { required: true, placeholder: 'ids' }),
  },
};

/** Parses "1,2,3" into token ids, naming the bad entry. */
export function parseIds(command: string, text: string | undefined, flag = '--ids'): number[] {
  if (!text) throw new UsageError(`${command}: ${flag} is required, e.g. ${flag} 1,2,3`);
  return text.split(',').map((s, i) => {
    const n = Number(s.trim());
    if (s.trim() === '' || !Number.isInteger(n) || n < 0) throw new UsageError(`${command}: ${flag} entry ${i} ('${s}') is not a token id (an integer >= 0)`);
    return n;
  });
}

export async function logitsCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(spec, argv);
  if (!parsed) return 0;
  const v = parsed.values;
  const ids = parseIds('logits', v.ids);
  modelDir('logits', '--model', v.model);
  const model = loadCausalLM(v.model);
  const V = model.config.vocabSize;
  const bad = ids.find((t) => t >= V);
  if (bad !== undefined) throw new UsageError(`logits: --ids: token id ${bad} is outside the vocabulary [0, ${V})`);
  const logits = noGrad(() => model.forward(Tensor.ids(ids, [1, ids.length])).logits!);
  const rows = ids.map((_, t) => Array.from(logits.data.subarray(t * V, (t + 1) * V)));
  process.stdout.write(JSON.stringify({ logits: rows }) + '\n');
  return 0;
}
