"""Pins PyTorch's BLAS (Debian's OpenBLAS) to N threads: the env before torch loads, the library after.

Without this, Debian's OpenBLAS runs its own pool on every core even when torch.set_num_threads(1),
which makes a "1 thread" peer figure a 2-core one.
"""
import ctypes
import os


def pin_env(n):
    """Call before `import torch`."""
    os.environ["OPENBLAS_NUM_THREADS"] = str(n)
    os.environ["OMP_NUM_THREADS"] = str(n)


def set_openblas_threads(n):
    """Calls openblas_set_num_threads in the OpenBLAS that torch loaded; returns its path or None."""
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "openblas" in line and line.split()[-1].startswith("/")}
    except OSError:
        return None
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
            lib.openblas_set_num_threads(ctypes.c_int(n))
            return path
        except (OSError, AttributeError):
            continue
    return None
