"""Pins PyTorch's BLAS to N threads and says which BLAS (and which of its kernels) torch runs.

Two kinds of torch builds are met here:
- Debian's python3-torch (1.13) calls a separate pthreads OpenBLAS for matmul, which runs its own
  pool on every core even when torch.set_num_threads(1): OPENBLAS_NUM_THREADS before torch loads
  and openblas_set_num_threads after pin it.
- The PyPI CPU wheels (torch 2.x) link Intel oneMKL statically (and oneDNN, used for bf16/int8 and
  convolutions, not for fp32 matmul); MKL uses torch's OpenMP pool, which torch.set_num_threads
  sets, and MKL_NUM_THREADS before load. MKL picks its kernel by CPU vendor and ISA: the header line
  of MKL_VERBOSE names the code path (e.g. "Intel(R) AVX-512 ... enabled processors", or the
  generic "Intel(R) Architecture processors" it uses on other vendors' CPUs).
"""
import ctypes
import os
import re
import subprocess
import sys


def pin_env(n):
    """Call before `import torch`."""
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)


def set_openblas_threads(n):
    """Calls openblas_set_num_threads in the OpenBLAS that torch loaded; returns its path or None."""
    for path in _loaded("openblas"):
        try:
            lib = ctypes.CDLL(path)
            lib.openblas_set_num_threads(ctypes.c_int(n))
            return path
        except (OSError, AttributeError):
            continue
    return None


def _loaded(word):
    try:
        with open("/proc/self/maps") as f:
            return sorted({line.split()[-1] for line in f if word in line and line.split()[-1].startswith("/")})
    except OSError:
        return []


def _openblas_config():
    for path in _loaded("openblas"):
        try:
            lib = ctypes.CDLL(path)
            lib.openblas_get_config.restype = ctypes.c_char_p
            core = ""
            if hasattr(lib, "openblas_get_corename"):
                lib.openblas_get_corename.restype = ctypes.c_char_p
                core = lib.openblas_get_corename().decode()
            return f"OpenBLAS {lib.openblas_get_config().decode()} core={core} ({path})"
        except (OSError, AttributeError):
            continue
    return None


def _mkl_probe(threads):
    """Runs one fp32 torch.mm and one linear in a child with MKL_VERBOSE=1: MKL's header line and whether SGEMM ran."""
    code = ("import torch, torch.nn.functional as F\n"
            f"torch.set_num_threads({threads})\n"
            "a = torch.rand(64, 64); a @ a; F.linear(a, torch.rand(32, 64))\n")
    env = {**os.environ, "MKL_VERBOSE": "1"}
    try:
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    lines = [l for l in out.splitlines() if l.startswith("MKL_VERBOSE")]
    if not lines:
        return None
    header = next((l[len("MKL_VERBOSE "):] for l in lines if "oneMKL" in l or "Intel(R) MKL" in l), "MKL")
    sgemm = sum(1 for l in lines if "SGEMM" in l)
    return f"{header}; fp32 mm and linear ran MKL SGEMM ({sgemm} calls seen)"


def blas_report(torch, threads):
    """One line: which BLAS fp32 matmul runs in this torch, and its kernel path on this CPU."""
    found = re.search(r"BLAS_INFO=(\w+)", torch.__config__.show())
    info = f"BLAS_INFO={found.group(1) if found else '?'}"
    parts = [f"torch {torch.__version__} {info}", f"ATen CPU capability {torch.backends.cpu.get_cpu_capability()}"]
    ob = _openblas_config()
    if ob:
        parts.append(ob)
    elif "mkl" in info.lower():
        parts.append(_mkl_probe(threads) or "MKL (MKL_VERBOSE gave nothing)")
    return "; ".join(parts)
