"""Does the training loop cover the data, learn, measure and stay quiet on stderr, and does
load_or_train train once, load after, and refuse a damaged weights file in one clear line?"""

from __future__ import annotations

import hashlib
import re

import pytest
import torch
from torch import nn

from cvcourse.data import digits
from cvcourse.train import (
    History,
    WeightsChecksumError,
    accuracy,
    batches,
    evaluate,
    file_sha256,
    fit,
    load_or_train,
)


def logistic_regression() -> nn.Module:
    """Multinomial logistic regression on 8 x 8 digits (seeded, so every test starts alike)."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 10))


# --- batches and accuracy ---------------------------------------------------------------------
def test_batches_cover_every_sample_once_per_epoch():
    X, y = torch.arange(103).float()[:, None], torch.arange(103)
    generator = torch.Generator().manual_seed(0)
    orders = []
    for _ in range(2):
        parts = list(batches(X, y, 10, shuffle=True, generator=generator))
        assert [len(yb) for _, yb in parts] == [10] * 10 + [3]
        assert all(torch.equal(xb[:, 0].long(), yb) for xb, yb in parts)  # rows stay paired
        seen = torch.cat([yb for _, yb in parts])
        assert torch.equal(seen.sort().values, y)
        orders.append(seen)
    assert not torch.equal(orders[0], orders[1])  # a new order each epoch
    assert not torch.equal(orders[0], y)


def test_batches_without_shuffle_keep_the_order_and_can_drop_the_last():
    X, y = torch.zeros(7, 2), torch.arange(7)
    assert [yb.tolist() for _, yb in batches(X, y, 3)] == [[0, 1, 2], [3, 4, 5], [6]]
    assert [yb.tolist() for _, yb in batches(X, y, 3, drop_last=True)] == [[0, 1, 2], [3, 4, 5]]
    same = [torch.cat([yb for _, yb in batches(X, y, 3, shuffle=True,
                                                generator=torch.Generator().manual_seed(4))])
            for _ in range(2)]
    assert torch.equal(*same)  # the generator fixes the order
    with pytest.raises(ValueError, match="length"):
        next(batches(X, y[:5]))


def test_accuracy_from_scores_or_labels():
    scores = torch.tensor([[2.0, 1.0], [0.0, 3.0], [5.0, -1.0], [0.1, 0.2]])
    y = torch.tensor([0, 1, 1, 1])
    assert accuracy(scores, y) == pytest.approx(0.75)
    assert accuracy(torch.tensor([0, 1, 0, 0]), y) == pytest.approx(0.5)


# --- fit and evaluate --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def digit_data():
    return digits("train"), digits("test")


def test_fit_learns_the_digits(digit_data, capsys):
    (X_train, y_train), (X_test, y_test) = digit_data
    model = logistic_regression()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    history = fit(model, (X_train, y_train), nn.functional.cross_entropy, optimizer, epochs=4,
                  metrics={"accuracy": accuracy}, val_data=(X_test, y_test), desc="digits")
    assert isinstance(history, History) and len(history) == 4
    assert history["epoch"] == [1, 2, 3, 4]
    assert set(history[-1]) == {"epoch", "loss", "accuracy", "val_loss", "val_accuracy"}
    assert history["loss"][-1] < history["loss"][0] < 2.4  # log(10) = 2.30 at chance
    # the reference: the fitted model's own predictions on the held-out digits
    with torch.no_grad():
        test_accuracy = (model(X_test).argmax(1) == y_test).float().mean().item()
    assert test_accuracy > 0.9
    assert history[-1]["val_accuracy"] == pytest.approx(test_accuracy)
    assert capsys.readouterr().err == ""  # nbgrader scores any stderr output as a failure


def test_fit_is_reproducible(digit_data):
    (X_train, y_train), _ = digit_data
    runs = []
    for _ in range(2):
        model = logistic_regression()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        runs.append(fit(model, (X_train, y_train), nn.functional.cross_entropy, optimizer,
                        epochs=2, seed=3)["loss"])
    assert runs[0] == runs[1]


def test_fit_honours_steps_per_epoch_and_takes_any_batches(digit_data):
    (X_train, y_train), _ = digit_data
    model = logistic_regression()
    calls = []
    model.register_forward_hook(lambda module, inputs, output: calls.append(len(inputs[0])))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    fit(model, (X_train, y_train), nn.functional.cross_entropy, optimizer, epochs=3,
        batch_size=32, steps_per_epoch=2)
    assert calls == [32] * 6
    calls.clear()
    loader = [(X_train[:50], y_train[:50]), (X_train[50:70], y_train[50:70])]  # a list of batches
    history = fit(model, loader, nn.functional.cross_entropy, optimizer, epochs=2)
    assert calls == [50, 20, 50, 20] and len(history) == 2


def test_evaluate_measures_without_changing_the_model(digit_data):
    _, (X_test, y_test) = digit_data
    model = logistic_regression()
    before = [p.clone() for p in model.parameters()]
    scores = evaluate(model, (X_test, y_test), nn.functional.cross_entropy,
                      metrics={"accuracy": accuracy}, batch_size=100)
    with torch.no_grad():
        y_hat = model(X_test)
    assert scores["loss"] == pytest.approx(nn.functional.cross_entropy(y_hat, y_test).item(),
                                           rel=1e-5)
    assert scores["accuracy"] == pytest.approx((y_hat.argmax(1) == y_test).float().mean().item())
    assert model.training  # the mode it had before
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


# --- load_or_train -----------------------------------------------------------------------------
def train_briefly(model: nn.Module) -> None:
    X, y = digits("train")
    fit(model, (X, y), nn.functional.cross_entropy,
        torch.optim.SGD(model.parameters(), lr=0.1), epochs=1, steps_per_epoch=3)


def test_load_or_train_trains_once_then_loads(tmp_path, capsys):
    path = tmp_path / "weights" / "digits.pt"
    calls = []

    def train_fn(model):
        calls.append(1)
        train_briefly(model)

    trained = load_or_train(logistic_regression(), path, train_fn)
    printed = capsys.readouterr().out
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert calls == [1] and file_sha256(path) == digest and digest in printed

    fresh = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))  # other initial weights
    loaded = load_or_train(fresh, path, train_fn, sha256=digest)
    assert calls == [1]  # not trained again
    for a, b in zip(trained.state_dict().values(), loaded.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert not list(tmp_path.glob("weights/*.partial"))


def test_a_damaged_weights_file_is_refused_in_one_line(tmp_path):
    path = tmp_path / "digits.pt"
    load_or_train(logistic_regression(), path, train_briefly)
    expected = file_sha256(path)
    path.write_bytes(path.read_bytes()[:-10])  # truncated, as by an interrupted copy
    found = file_sha256(path)
    with pytest.raises(WeightsChecksumError) as error:
        load_or_train(logistic_regression(), path, pytest.fail, sha256=expected)
    message = str(error.value)
    assert "\n" not in message
    assert str(path) in message and expected in message and found in message
    assert re.search(r"delete .*digits\.pt.* retrain", message)
    with pytest.raises(WeightsChecksumError, match="python -m train_tiny_clip"):
        load_or_train(logistic_regression(), path, pytest.fail, sha256=expected,
                      how_to_retrain="run python -m train_tiny_clip")
