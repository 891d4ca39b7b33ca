"""Hugging Face transformers side of tests/hf-parity.test.ts (optional: the test skips without torch).

  python hf_glm.py logits DIR IDS_JSON        prints {"logits": [[...]], "transformers": version}
  python hf_glm.py random DIR CONFIG_JSON SEED  writes a randomly initialised model with save_pretrained

The random weights are drawn wider than the usual init (std 0.2, norms around 1, router biases
spread) so that every layer, the router's choice included, moves the logits.
"""
import json
import sys

import torch
import transformers
from transformers import AutoConfig, AutoModelForCausalLM


def logits(folder: str, ids_json: str) -> None:
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    model.eval()
    ids = torch.tensor([json.loads(ids_json)], dtype=torch.long)
    with torch.no_grad():
        out = model(input_ids=ids).logits[0]
    print(json.dumps({"logits": out.tolist(), "transformers": transformers.__version__}))


def random_model(folder: str, config_json: str, seed: str) -> None:
    cfg = json.loads(config_json)
    config = AutoConfig.for_model(cfg.pop("model_type"), **cfg)
    torch.manual_seed(int(seed))
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight") or "layernorm" in name:
                p.copy_(1 + 0.1 * torch.randn_like(p))
            else:
                p.normal_(0, 0.2)
        for name, b in model.named_buffers():
            if "e_score_correction_bias" in name:
                b.copy_(0.1 * torch.randn_like(b))
    model.save_pretrained(folder, safe_serialization=True)


if __name__ == "__main__":
    {"logits": logits, "random": random_model}[sys.argv[1]](*sys.argv[2:])
