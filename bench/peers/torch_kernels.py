#!/usr/bin/env python3
"""PyTorch (CPU) peer of `glmkit bench kernels`: the same GEMM shapes and causal attention, printing
the same JSON lines with "impl": "torch", so the figures can be put side by side.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 bench/peers/torch_kernels.py --threads 1

Thread count: torch.set_num_threads sets the intra-op (OpenMP) pool; Debian's torch calls a separate
pthreads OpenBLAS for matmul, with its own pool, and the PyPI wheels a static MKL on the OpenMP pool;
this script pins all of them (blas_threads.py) and prints which BLAS and kernel path ran ("blas").
Attention is the eager composition softmax(q @ k^T * scale + causal mask) @ v. GFLOPS use the same nominal flop
counts as glmkit (causal attention counts half the T x T scores) so the numbers compare directly.
"""
import argparse
import ctypes
import json
import math
import os
import sys
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="threads for torch and OpenBLAS")
    p.add_argument("--json", action="store_true", help="one JSON object per line (default: a table)")
    p.add_argument("--quick", action="store_true", help="fewer repetitions")
    return p.parse_args()


ARGS = parse_args()
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from blas_threads import blas_report, pin_env, set_openblas_threads  # noqa: E402

pin_env(ARGS.threads)  # before torch (and with it OpenBLAS) is loaded
import torch  # noqa: E402

GEMM_SHAPES = [(512, 512, 512), (2048, 256, 1024), (64, 4096, 1024), (8192, 256, 256)]
ATTN = dict(batch=4, heads=8, t=256, head_dim=64)


def time_it(fn, max_reps, budget_s, setup=None):
    """Warm-up once, then up to max_reps calls (at least 3, about budget_s seconds); (best, median, reps)."""
    if setup:
        setup()
    fn()
    times = []
    start = time.perf_counter()
    while len(times) < max_reps and (len(times) < 3 or time.perf_counter() - start < budget_s):
        if setup:
            setup()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[0], times[len(times) // 2], len(times)


def bench_gemm(m, n, k, trans_b, reps, budget):
    g = torch.Generator().manual_seed(0)
    a = torch.rand(m, k, generator=g) - 0.5
    b = (torch.rand(n, k, generator=g) - 0.5).t() if trans_b else torch.rand(k, n, generator=g) - 0.5
    c = torch.empty(m, n)
    best, median, count = time_it(lambda: torch.mm(a, b, out=c), reps, budget)
    flops = 2.0 * m * n * k
    return dict(op="matmul", m=m, n=n, k=k, trans_b=trans_b, threads=ARGS.threads,
                gflops=round(flops / best / 1e9, 1), gflops_median=round(flops / median / 1e9, 1),
                ms=round(best * 1e3, 3), reps=count)


def bench_attention(reps, budget):
    B, H, T, D = ATTN["batch"], ATTN["heads"], ATTN["t"], ATTN["head_dim"]
    scale = 1.0 / math.sqrt(D)
    g = torch.Generator().manual_seed(1)
    q, k, v, dout = (torch.rand(B, H, T, D, generator=g) - 0.5 for _ in range(4))
    mask = torch.full((T, T), float("-inf")).triu(1)

    def attention(q, k, v):
        p = torch.softmax(q @ k.transpose(-1, -2) * scale + mask, dim=-1)
        return p @ v

    fwd_flops = 4.0 * B * H * T * T * D / 2
    base = dict(batch=B, heads=H, t=T, head_dim=D, causal=True, threads=ARGS.threads)
    records = []

    def record(op, flops, timing):
        best, median, count = timing
        records.append(dict(op=op, **base, ms=round(best * 1e3, 3), ms_median=round(median * 1e3, 3),
                            tokens_per_s=round(B * T / best), gflops=round(flops / best / 1e9, 1), reps=count))

    with torch.no_grad():
        record("attention_fwd", fwd_flops, time_it(lambda: attention(q, k, v), reps, budget))

    qg, kg, vg = (x.clone().requires_grad_(True) for x in (q, k, v))
    state = {}

    def forward_for_backward():
        for x in (qg, kg, vg):
            x.grad = None
        state["out"] = attention(qg, kg, vg)

    # Backward alone: the forward that builds the graph runs untimed before each rep.
    record("attention_bwd", 2.5 * fwd_flops, time_it(lambda: state["out"].backward(dout), reps, budget, forward_for_backward))

    def fwd_bwd():
        for x in (qg, kg, vg):
            x.grad = None
        attention(qg, kg, vg).backward(dout)

    record("attention_fwd_bwd", 3.5 * fwd_flops, time_it(fwd_bwd, reps, budget))
    return records


def main():
    torch.set_num_threads(ARGS.threads)
    set_openblas_threads(ARGS.threads)
    reps, budget = (3, 0.2) if ARGS.quick else (200, 1.0)
    common = dict(impl="torch", torch=torch.__version__, blas=blas_report(torch, ARGS.threads),
                  openblas_env={k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k in os.environ})
    records = []
    for m, n, k in GEMM_SHAPES:
        for trans_b in (False, True):
            records.append(bench_gemm(m, n, k, trans_b, reps, budget))
    records.extend(bench_attention(reps, budget))
    if ARGS.json:
        for r in records:
            print(json.dumps({**r, **common}))
        return
    print(f"torch {torch.__version__} kernels: {ARGS.threads} thread(s), BLAS {common['blas']}, env {common['openblas_env'] or 'clean'}")
    print()
    print(f"{'op':<18}{'shape':<26}{'threads':>7}{'best':>12}{'median':>12}{'reps':>6}")
    for r in records:
        if r["op"] == "matmul":
            shape = f"{r['m']}x{r['n']}x{r['k']}" + (" (B^T)" if r["trans_b"] else "")
            print(f"{'matmul':<18}{shape:<26}{r['threads']:>7}{r['gflops']:>9} GF{r['gflops_median']:>9} GF{r['reps']:>6}")
        else:
            shape = f"B{r['batch']} H{r['heads']} T{r['t']} D{r['head_dim']} causal"
            print(f"{r['op']:<18}{shape:<26}{r['threads']:>7}{r['ms']:>9} ms{r['ms_median']:>9} ms{r['reps']:>6}"
                  f"   {r['tokens_per_s']} tok/s, {r['gflops']} GFLOPS")


if __name__ == "__main__":
    sys.exit(main())
