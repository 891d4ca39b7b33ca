import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import { tempDir } from '../util/temp-dir.js';
import { pipelineArtifacts } from './runner.js';

function base(stages: string[]): string {
  const dir = tempDir();
  mkdirSync(join(dir, 'data'));
  mkdirSync(join(dir, 'init'));
  writeFileSync(join(dir, 'init', 'tokenizer.json'), '{}');
  for (const s of stages) {
    mkdirSync(join(dir, s, 'final'), { recursive: true });
    writeFileSync(join(dir, s, 'final', 'config.json'), '{}');
  }
  return dir;
}

test('pipelineArtifacts asks a --base for exactly the stages an experiment needs', () => {
  const pre = base(['pretrain']);
  assert.equal(pipelineArtifacts(pre, 'init').initDir, join(pre, 'init'));
  assert.equal(pipelineArtifacts(pre, 'pretrain').pretrainDir, join(pre, 'pretrain', 'final'));
  assert.throws(() => pipelineArtifacts(pre, 'sft'), (e: unknown) => e instanceof ConfigError && /the SFT model \(sft stage\)/.test(e.message));
  const sft = base(['pretrain', 'sft']);
  assert.equal(pipelineArtifacts(sft, 'sft').sftDir, join(sft, 'sft', 'final'));
  assert.throws(() => pipelineArtifacts(sft, 'reward'), (e: unknown) => e instanceof ConfigError && /the reward model/.test(e.message));
  assert.throws(() => pipelineArtifacts(base([]), 'pretrain'), (e: unknown) => e instanceof ConfigError && /the pre-trained model/.test(e.message));
});
