"""The course's training loop, short enough to read in one go: minibatches, ``fit``,
``evaluate``, and small committed weights that are loaded when present or trained once."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from cvcourse.runtime import progress

Batch = tuple[torch.Tensor, torch.Tensor]
# Training data: a pair of tensors (X, y), batched by fit itself, or any re-iterable of
# (X, y) batches, such as a torch DataLoader or a list.
Data = tuple[torch.Tensor, torch.Tensor] | Iterable[Batch]
Metric = Callable[[torch.Tensor, torch.Tensor], float]  # (y_hat, y) -> mean over the batch
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (y_hat, y) -> scalar tensor


def batches(X: torch.Tensor, y: torch.Tensor, batch_size: int = 64, *, shuffle: bool = False,
            generator: torch.Generator | None = None, drop_last: bool = False) -> Iterator[Batch]:
    """Yield minibatches (X[idx], y[idx]) that cover each of the N samples once.

    ``shuffle`` draws a new order each call, from ``generator`` (a CPU torch.Generator) when
    given, so the order can be reproduced; ``drop_last`` skips a final short batch.
    """
    if len(X) != len(y):
        raise ValueError(f"X and y differ in length: {len(X)} vs {len(y)}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    n = len(X)
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    order = order.to(X.device)
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        idx = order[start:start + batch_size]
        yield X[idx], y[idx]


def accuracy(y_hat: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of correct predictions: ``y_hat`` are scores (N, C) (argmax wins) or predicted
    labels (N,), ``y`` the labels (N,)."""
    predicted = y_hat.argmax(dim=-1) if y_hat.ndim == y.ndim + 1 else y_hat
    return (predicted == y).float().mean().item()


@dataclass
class History:
    """What ``fit`` measured, one record per epoch, e.g. {"epoch": 1, "loss": 0.4, ...}.

    ``history["loss"]`` is that column as a list (for plotting), ``history[-1]`` the last record.
    """

    records: list[dict[str, float]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, key: str | int) -> list[float] | dict[str, float]:
        if isinstance(key, str):
            return [record[key] for record in self.records]
        return self.records[key]


def _to_batches(data: Data, batch_size: int, generator: torch.Generator | None,
                shuffle: bool) -> Iterable[Batch]:
    """Batches from ``data``: tensors are cut into minibatches, anything else is used as is."""
    if isinstance(data, tuple) and len(data) == 2 and all(map(torch.is_tensor, data)):
        return batches(*data, batch_size, shuffle=shuffle, generator=generator)
    return data


def _model_device(model: nn.Module) -> torch.device:
    first = next(model.parameters(), None)
    return first.device if first is not None else torch.device("cpu")


def fit(model: nn.Module, data: Data, loss_fn: LossFn, optimizer: torch.optim.Optimizer,
        epochs: int = 1, *, device: torch.device | str | None = None, batch_size: int = 64,
        steps_per_epoch: int | None = None, metrics: Mapping[str, Metric] | None = None,
        val_data: Data | None = None, seed: int = 0, desc: str = "training") -> History:
    """Train ``model`` for ``epochs`` passes over ``data`` and return the History.

    Each record holds the epoch, the mean training ``loss`` and each metric of ``metrics``
    (name -> fn(y_hat, y), averaged over the epoch's batches, weighted by batch size), and with
    ``val_data`` also ``val_loss`` and ``val_<metric>`` from ``evaluate``. Tensors (X, y) are
    shuffled each epoch from a generator seeded with ``seed``. ``steps_per_epoch`` caps the
    batches of an epoch (notebooks pass a small number under ``grading()``). The model moves to
    ``device`` when given; batches move to the model's device.
    """
    if device is not None:
        model.to(device)
    device = _model_device(model)
    metrics = dict(metrics or {})
    generator = torch.Generator().manual_seed(seed)
    history = History()
    for epoch in progress(range(1, epochs + 1), desc=desc, total=epochs):
        model.train()
        sums = dict.fromkeys(["loss", *metrics], 0.0)
        seen = 0
        for step, (X, y) in enumerate(_to_batches(data, batch_size, generator, shuffle=True)):
            if steps_per_epoch is not None and step >= steps_per_epoch:
                break
            X, y = X.to(device), y.to(device)
            y_hat = model(X)
            loss = loss_fn(y_hat, y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            sums["loss"] += loss.item() * len(X)
            with torch.no_grad():
                for name, metric in metrics.items():
                    sums[name] += metric(y_hat.detach(), y) * len(X)
            seen += len(X)
        record = {"epoch": epoch, **{name: total / max(seen, 1) for name, total in sums.items()}}
        if val_data is not None:
            scores = evaluate(model, val_data, loss_fn, metrics=metrics, batch_size=batch_size)
            record.update({f"val_{name}": value for name, value in scores.items()})
        history.records.append(record)
    return history


def evaluate(model: nn.Module, data: Data, loss_fn: LossFn | None = None, *,
             metrics: Mapping[str, Metric] | None = None,
             batch_size: int = 256) -> dict[str, float]:
    """Mean ``loss`` (when ``loss_fn`` is given) and each metric over all of ``data``, computed
    without gradients in eval mode on the model's device; the model's mode is restored."""
    device = _model_device(model)
    scores = dict(metrics or {})
    if loss_fn is not None:
        scores = {"loss": lambda y_hat, y: loss_fn(y_hat, y).item(), **scores}
    sums, seen = dict.fromkeys(scores, 0.0), 0
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for X, y in _to_batches(data, batch_size, generator=None, shuffle=False):
                X, y = X.to(device), y.to(device)
                y_hat = model(X)
                for name, score in scores.items():
                    sums[name] += score(y_hat, y) * len(X)
                seen += len(X)
    finally:
        model.train(was_training)
    return {name: total / max(seen, 1) for name, total in sums.items()}


# --- small committed weights: load them, or train once and save -------------------------------
class WeightsChecksumError(RuntimeError):
    """A weights file is there but is not the one the notebook expects."""


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes, as 64 hex digits."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_or_train(model: nn.Module, path: str | Path, train_fn: Callable[[nn.Module], object], *,
                  sha256: str | None = None, how_to_retrain: str | None = None) -> nn.Module:
    """Load ``model``'s weights from ``path`` if the file is there, else train and save them.

    Present file: its SHA-256 must equal ``sha256`` (when given), otherwise a one-line
    WeightsChecksumError names the file, both hashes and what to do (``how_to_retrain``, or
    delete the file to retrain here). Missing file: ``train_fn(model)`` trains in place, the
    state dict is saved (CPU tensors, so the file does not depend on the device) and its
    checksum printed, to be pasted into the notebook as ``sha256``. Returns ``model``.
    """
    path = Path(path)
    if path.exists():
        found = file_sha256(path)
        if sha256 is not None and found != sha256.lower():
            remedy = how_to_retrain or f"delete {path} to retrain it here"
            raise WeightsChecksumError(f"{path} has SHA-256 {found} but {sha256} is expected: "
                                       f"a stale or damaged file; {remedy}")
        state = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(state)
        print(f"Loaded weights from {path}")
        return model
    train_fn(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")  # an interrupted save leaves no bad file
    torch.save({name: value.detach().cpu() for name, value in model.state_dict().items()}, partial)
    os.replace(partial, path)
    found = file_sha256(path)
    stale = sha256 is not None and sha256.lower() != found
    note = f" (expected {sha256}: update the notebook's sha256)" if stale else ""
    print(f"Trained and saved {path}, sha256 {found}{note}")
    return model
