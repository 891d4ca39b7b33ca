/**
 * "The run at a glance": the outcomes a pipeline run exists for, read from summary.json, each with
 * a one-line plain-language reading. Every figure keeps the summary.json path it came from
 * (`key`), so the page can be checked against the file.
 */
export interface GlanceRow {
  group: string;
  what: string;
  /** [summary.json path, value] of each figure in the row */
  figures: { key: string; value: number; label?: string; ci?: [number, number] }[];
  reading: string;
}

type Obj = Record<string, unknown>;

/** The value at a dotted path of an object (undefined when absent). */
export function at(o: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Obj)[k] : undefined), o);
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const pct = (v: number) => `${(100 * v).toFixed(0)}%`;
const f2 = (v: number) => v.toFixed(2);
const f3 = (v: number) => v.toFixed(3);
const signed = (v: number) => `${v >= 0 ? '+' : ''}${v.toFixed(3)}`;

function ciOf(v: unknown): [number, number] | undefined {
  return Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number') ? [v[0], v[1]] : undefined;
}

export function glanceRows(summary: Obj): GlanceRow[] {
  const rows: GlanceRow[] = [];
  const byLevel = at(summary, 'sft.accuracy_by_level') as Record<string, Record<string, number>> | undefined;
  for (const [level, acc] of Object.entries(byLevel ?? {})) {
    const t = num(acc.thinking), d = num(acc.direct);
    if (t === undefined || d === undefined) continue;
    const n = level.replace('level_', '');
    rows.push({
      group: 'SFT',
      what: `arithmetic level ${n} accuracy (thinking / direct)`,
      figures: [{ key: `sft.accuracy_by_level.${level}.thinking`, value: t, label: 'thinking' }, { key: `sft.accuracy_by_level.${level}.direct`, value: d, label: 'direct' }],
      reading: `The SFT model answers ${pct(t)} of held-out level-${n} questions when it reasons first and ${pct(d)} when it answers directly.`,
    });
  }
  const rm = at(summary, 'reward_model') as Obj | undefined;
  const rmAcc = num(rm?.accuracy);
  if (rm && rmAcc !== undefined) {
    const parts: GlanceRow['figures'] = [{ key: 'reward_model.accuracy', value: rmAcc, label: 'all' }];
    for (const k of ['style', 'correctness', 'slip', 'misread']) {
      const v = num(rm[`accuracy_${k}_pairs`]);
      if (v !== undefined) parts.push({ key: `reward_model.accuracy_${k}_pairs`, value: v, label: k });
    }
    const style = num(rm.accuracy_style_pairs), corr = num(rm.accuracy_correctness_pairs);
    rows.push({
      group: 'Reward model',
      what: 'held-out pair accuracy (by what decides the pair)',
      figures: parts,
      reading: `The reward model ranks ${pct(rmAcc)} of held-out pairs correctly${style !== undefined && corr !== undefined ? ` (${pct(style)} where style decides, ${pct(corr)} where correctness does)` : ''}; 50% is chance.`,
    });
  }
  const sftGold = num(at(summary, 'sft.gold_reward'));
  if (sftGold !== undefined) {
    rows.push({ group: 'Alignment', what: 'SFT gold reward (the baseline)', figures: [{ key: 'sft.gold_reward', value: sftGold, label: 'gold' }, ...(num(at(summary, 'sft.length')) !== undefined ? [{ key: 'sft.length', value: num(at(summary, 'sft.length'))!, label: 'tokens' }] : [])], reading: `The SFT model's answers score ${f3(sftGold)} on the world's gold reward (0 to 1).` });
    for (const m of ['ppo', 'dpo', 'exo']) {
      const gold = num(at(summary, `${m}.gold_reward`)), kl = num(at(summary, `${m}.kl`)), len = num(at(summary, `${m}.length`));
      if (gold === undefined || kl === undefined) continue;
      const gain = num(at(summary, `${m}.gain`)) ?? gold - sftGold;
      const ci = ciOf(at(summary, `${m}.gain_ci95`));
      const verb = ci ? (ci[0] > 0 ? 'raised' : ci[1] < 0 ? 'lowered' : 'did not clearly change') : Math.abs(gain) < 5e-4 ? 'did not change' : gain > 0 ? 'raised' : 'lowered';
      rows.push({
        group: 'Alignment',
        what: `${m.toUpperCase()}: gold reward, gain over SFT, KL to SFT, length`,
        figures: [{ key: `${m}.gold_reward`, value: gold, label: 'gold' }, { key: ci ? `${m}.gain` : `${m}.gold_reward - sft.gold_reward`, value: gain, label: 'gain', ci }, { key: `${m}.kl`, value: kl, label: 'KL (nats)' }, ...(len !== undefined ? [{ key: `${m}.length`, value: len, label: 'tokens' }] : [])],
        reading: `${m.toUpperCase()} ${verb} the gold reward by ${signed(gain)}${ci ? ` [${f3(ci[0])}, ${f3(ci[1])}]` : ' (no interval recorded)'} at ${f2(kl)} nats of KL to SFT.`,
      });
    }
  }
  const before = num(at(summary, 'grpo.accuracy_before')), after = num(at(summary, 'grpo.accuracy_after'));
  if (before !== undefined && after !== undefined) {
    const lv = at(summary, 'grpo.accuracy_by_level') as { before?: Record<string, number>; after?: Record<string, number> } | undefined;
    const figs: GlanceRow['figures'] = [{ key: 'grpo.accuracy_before', value: before, label: 'before' }, { key: 'grpo.accuracy_after', value: after, label: 'after' }];
    for (const l of Object.keys(lv?.after ?? {})) {
      const b = num(lv?.before?.[l]), a = num(lv?.after?.[l]);
      if (b !== undefined && a !== undefined) figs.push({ key: `grpo.accuracy_by_level.after.${l}`, value: a, label: `${l.replace('level_', 'L')} after (before ${pct(b)})` });
    }
    const ci = ciOf(at(summary, 'grpo.gain_ci95'));
    rows.push({ group: 'GRPO', what: 'hard-set accuracy before and after RL (greedy)', figures: figs, reading: `GRPO moved held-out hard-prompt accuracy, one greedy answer each, from ${pct(before)} to ${pct(after)}${ci ? ` (gain [${f3(ci[0])}, ${f3(ci[1])}])` : ''}.` });
    const sb = num(at(summary, 'grpo.sampled.accuracy_before')), sa = num(at(summary, 'grpo.sampled.accuracy_after'));
    const k = num(at(summary, 'grpo.sampled.samples_per_prompt')), t = num(at(summary, 'grpo.sampled.temperature'));
    if (sb !== undefined && sa !== undefined && k !== undefined && t !== undefined) {
      const sci = ciOf(at(summary, 'grpo.sampled.gain_ci95')), sg = num(at(summary, 'grpo.sampled.gain'));
      rows.push({
        group: 'GRPO',
        what: `hard-set accuracy before and after RL (avg@${k} at temperature ${t})`,
        figures: [{ key: 'grpo.sampled.accuracy_before', value: sb, label: 'before' }, { key: 'grpo.sampled.accuracy_after', value: sa, label: 'after' }, ...(sci && sg !== undefined ? [{ key: 'grpo.sampled.gain', value: sg, label: 'gain', ci: sci }] : [])],
        reading: `Sampled at the rollout temperature, ${k} answers per prompt, held-out hard-prompt accuracy went from ${pct(sb)} to ${pct(sa)}${sci ? ` (gain [${f3(sci[0])}, ${f3(sci[1])}])` : ''}.`,
      });
    }
  }
  const final = at(summary, 'final_model');
  if (typeof final === 'string') {
    const best = at(summary, 'best_method'), split = at(summary, 'final_model_selected_on');
    rows.push({ group: 'Output', what: 'the model in final/', figures: [], reading: `final/ holds ${final}${typeof best === 'string' ? ` (best aligned method: ${best})` : ''}${typeof split === 'string' ? `, chosen on the ${split} split` : ''}.` });
  }
  return rows;
}
