"""Pick the device notebooks and graded code run on: CUDA when present, else CPU.

The environment variable ``CVCOURSE_DEVICE`` (``cpu``, ``cuda`` or ``auto``) forces the choice,
so an instructor can grade on the CPU on a GPU machine, or insist on the GPU.
"""

from __future__ import annotations

import os

import torch

ENV_VAR = "CVCOURSE_DEVICE"
_CHOICES = ("auto", "cpu", "cuda")


def device(verbose: bool = False) -> torch.device:
    """Return the device to compute on (introduced in 01_optimization's setup cell).

    ``CVCOURSE_DEVICE=cpu`` forces the CPU, ``CVCOURSE_DEVICE=cuda`` demands a GPU (an error
    if none is visible), anything else or unset picks CUDA when available.
    """
    wanted = os.environ.get(ENV_VAR, "auto").strip().lower() or "auto"
    if wanted not in _CHOICES:
        raise ValueError(f"{ENV_VAR}={wanted!r} is not one of {', '.join(_CHOICES)}")
    if wanted == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(
            f"{ENV_VAR}=cuda but torch sees no GPU; unset it or set {ENV_VAR}=cpu to run on the CPU"
        )
    use_cuda = wanted == "cuda" or (wanted == "auto" and torch.cuda.is_available())
    chosen = torch.device("cuda") if use_cuda else torch.device("cpu")
    if verbose:
        print(describe(chosen))
    return chosen


def describe(dev: torch.device) -> str:
    """One line saying where code runs, e.g. ``Running on cpu (torch 2.13.0, 2 threads)``."""
    if dev.type == "cuda":
        return f"Running on cuda: {torch.cuda.get_device_name(dev)} (torch {torch.__version__})"
    return f"Running on cpu (torch {torch.__version__}, {torch.get_num_threads()} threads)"
