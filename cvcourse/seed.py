"""Seed every random number generator a notebook touches, in one call."""

from __future__ import annotations

import numbers
import os
import random

import numpy as np
import torch


def seed_everything(seed: int = 0, deterministic: bool = False) -> np.random.Generator:
    """Seed ``random``, numpy's legacy global RNG and torch (CPU and CUDA).

    Returns a fresh ``numpy.random.Generator`` seeded with ``seed`` for code that prefers the
    new numpy API. ``deterministic=True`` also asks torch for deterministic kernels (slower).
    """
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = False
    return np.random.default_rng(seed)
