#!/usr/bin/env python3
"""Peer benchmark: train the GLM-4 dense `bench` preset in PyTorch eager on the CPU.

The same architecture as glmkit's Glm4ForCausalLM (sandwich RMSNorms, fused gate_up SwiGLU,
q/k/v bias, GQA, partial interleaved RoPE, untied head), the same batch (8 x 256 random tokens),
AdamW, fp32. Prints one JSON line like glmkit's `bench train --json`, with the model FLOPs per
token counted the same way (6 x matmul parameters + causal attention) and which BLAS ran. Optional:
the tests never need it. Run with Debian's python3-torch or a PyPI torch 2.x:

  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 bench/peers/torch_train.py --threads 1

--sdpa uses torch's fused F.scaled_dot_product_attention instead of the eager composition.
"""
import argparse
import json
import math
import os
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
from blas_threads import blas_report, pin_env, set_openblas_threads  # noqa: E402


def _threads_arg():
    for i, a in enumerate(sys.argv):
        if a == "--threads" and i + 1 < len(sys.argv):
            return int(sys.argv[i + 1])
        if a.startswith("--threads="):
            return int(a.split("=", 1)[1])
    return 1


pin_env(_threads_arg())  # before torch (and with it OpenBLAS) is loaded
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402


def rms_norm(x, w, eps):
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


class Layer(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        H, D, nh, nkv, I = c["hidden_size"], c["head_dim"], c["num_attention_heads"], c["num_key_value_heads"], c["intermediate_size"]
        self.nh, self.nkv, self.D, self.eps = nh, nkv, D, c["rms_norm_eps"]
        self.q = torch.nn.Linear(H, nh * D, bias=True)
        self.k = torch.nn.Linear(H, nkv * D, bias=True)
        self.v = torch.nn.Linear(H, nkv * D, bias=True)
        self.o = torch.nn.Linear(nh * D, H, bias=False)
        self.gate_up = torch.nn.Linear(H, 2 * I, bias=False)
        self.down = torch.nn.Linear(I, H, bias=False)
        self.norms = torch.nn.ParameterList([torch.nn.Parameter(torch.ones(H)) for _ in range(4)])

    sdpa = False

    def forward(self, x, cos, sin, mask):
        B, T, _ = x.shape
        h = rms_norm(x, self.norms[0], self.eps)
        q = self.q(h).view(B, T, self.nh, self.D).transpose(1, 2)
        k = self.k(h).view(B, T, self.nkv, self.D).transpose(1, 2)
        v = self.v(h).view(B, T, self.nkv, self.D).transpose(1, 2)
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        rep = self.nh // self.nkv
        k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
        if Layer.sdpa:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(B, T, -1)
        else:
            att = (q @ k.transpose(-1, -2)) / math.sqrt(self.D) + mask
            y = (att.softmax(-1) @ v).transpose(1, 2).reshape(B, T, -1)
        x = x + rms_norm(self.o(y), self.norms[1], self.eps)
        h = rms_norm(x, self.norms[2], self.eps)
        g, u = self.gate_up(h).chunk(2, dim=-1)
        return x + rms_norm(self.down(F.silu(g) * u), self.norms[3], self.eps)


def rope(x, cos, sin):
    rd = cos.shape[-1] * 2
    r, rest = x[..., :rd], x[..., rd:]
    x0, x1 = r[..., 0::2], r[..., 1::2]
    out = torch.stack((x0 * cos - x1 * sin, x1 * cos + x0 * sin), dim=-1).flatten(-2)
    return torch.cat((out, rest), dim=-1)


class Model(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.emb = torch.nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.layers = torch.nn.ModuleList([Layer(c) for _ in range(c["num_hidden_layers"])])
        self.norm = torch.nn.Parameter(torch.ones(c["hidden_size"]))
        self.head = torch.nn.Linear(c["hidden_size"], c["vocab_size"], bias=False)
        self.eps = c["rms_norm_eps"]
        rd = int(c["head_dim"] * c.get("partial_rotary_factor", 0.5))
        self.rd, self.theta = rd, c.get("rope_theta", 10000.0)

    def forward(self, ids):
        B, T = ids.shape
        inv = self.theta ** (-torch.arange(0, self.rd, 2, dtype=torch.float32) / self.rd)
        ang = torch.arange(T, dtype=torch.float32)[:, None] * inv[None, :]
        cos, sin = ang.cos(), ang.sin()
        mask = torch.full((T, T), float("-inf")).triu(1)
        x = self.emb(ids)
        for layer in self.layers:
            x = layer(x, cos, sin, mask)
        return self.head(rms_norm(x, self.norm, self.eps))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--preset", default="bench")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--seq-len", type=int, default=256)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--sdpa", action="store_true", help="fused scaled_dot_product_attention")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    set_openblas_threads(a.threads)
    Layer.sdpa = a.sdpa
    torch.manual_seed(0)
    with open(os.path.join(here, "..", "..", "configs", f"{a.preset}.json")) as f:
        c = json.load(f)
    model = Model(c)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.0)
    ids = torch.randint(0, c["vocab_size"], (a.batch, a.seq_len))
    tgt = torch.randint(0, c["vocab_size"], (a.batch, a.seq_len))

    def step():
        t = time.perf_counter()
        loss = F.cross_entropy(model(ids).view(-1, c["vocab_size"]), tgt.view(-1))
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        return time.perf_counter() - t

    step()
    times = sorted(step() for _ in range(a.steps))
    med = times[len(times) // 2]
    tps = a.batch * a.seq_len / med
    fpt = flops_per_token(c, a.seq_len)
    print(json.dumps({"bench": "train", "impl": "torch", "torch": torch.__version__, "preset": a.preset, "batch": a.batch,
                      "seq_len": a.seq_len, "threads": a.threads, "attention": "sdpa" if a.sdpa else "eager",
                      "blas": blas_report(torch, a.threads), "step_ms_median": round(med * 1000, 1),
                      "tokens_per_s": round(tps), "flops_per_token": fpt, "model_gflops": round(fpt * tps / 1e9, 1)}))


def flops_per_token(c, T):
    """Training FLOPs per token: 6 x (matmul weights, the head included, the embedding lookup not) plus
    causal attention (QK^T and PV over T/2 keys on average, forward 4 * T/2 * Hq * D, x3 with backward)."""
    H, D, I = c["hidden_size"], c["head_dim"], c["intermediate_size"]
    q, kv = c["num_attention_heads"] * D, c["num_key_value_heads"] * D
    per_layer = H * q + 2 * H * kv + q * H + H * 2 * I + I * H
    matmul = c["num_hidden_layers"] * per_layer + H * c["vocab_size"]
    return 6 * matmul + 6 * T * q * c["num_hidden_layers"]


if __name__ == "__main__":
    main()
