"""Do the notebook check helpers give the verdicts numpy, torch and sympy give, say what differs
when they fail, and keep their verdicts when student code has replaced the functions they could
have relied on or hands them objects that merely claim to be equal?

"""

from __future__ import annotations

import builtins
import math
import re
import sys

import numpy as np
import pytest
import sympy
import torch

from autograder.checks import (
    CheckFailure,
    CountingFunction,
    as_array,
    assert_close,
    assert_equal,
    assert_gradient,
    assert_raises,
    assert_shape,
    assert_sympy_equal,
    check,
    count_calls,
    numerical_gradient,
    passed,
    rel_error,
    relative_error,
    torch_value_and_grad,
)

x_sym, t_sym = sympy.symbols("x t")


def failure(fn, *args, **kwargs) -> str:
    """The CheckFailure message of ``fn(*args, **kwargs)``; anything else fails the test."""
    with pytest.raises(CheckFailure) as info:
        fn(*args, **kwargs)
    return str(info.value)


def verdict(fn, *args, **kwargs) -> str:
    """'pass', 'fail' (CheckFailure) or 'error: ...' (any other exception), never raising, so it
    is safe to call while builtins are monkeypatched."""
    try:
        fn(*args, **kwargs)
    except CheckFailure:
        return "fail"
    except Exception as err:  # noqa: BLE001 - reported as a value, asserted after undo
        return f"error: {type(err).__name__}: {err}"
    return "pass"


def cs231n_rel_error(x, y) -> float:
    """The reference formula from cs231n's notebooks."""
    return float(np.max(np.abs(x - y) / (np.maximum(1e-8, np.abs(x) + np.abs(y)))))


# --- check, passed ------------------------------------------------------------------------------
def test_check_failure_is_an_assertion_error():
    """Can notebook and pytest code catch a CheckFailure as an AssertionError?"""
    assert issubclass(CheckFailure, AssertionError)
    with pytest.raises(AssertionError, match="boom"):
        check(False, "boom")


@pytest.mark.parametrize("condition", [True, np.True_, np.bool_(1 < 2)], ids=repr)
def test_check_accepts_genuine_true(condition):
    """Does check accept True and numpy's True?"""
    assert check(condition, "unused") is None


@pytest.mark.parametrize("condition", [False, np.False_])
def test_check_fails_on_false_with_the_message(condition):
    """Is the message of a false check exactly the one given?"""
    assert failure(check, condition, "loss must decrease") == "loss must decrease"


class Truthy:
    def __bool__(self):
        return True


@pytest.mark.parametrize(
    "condition, type_name",
    [
        (1, "int"),
        ("yes", "str"),
        ([True], "list"),
        (np.array(True), "ndarray"),
        (np.array([True, True]), "ndarray"),
        (torch.tensor(True), "Tensor"),
        (Truthy(), "Truthy"),
    ],
    ids=lambda v: type(v).__name__,
)
def test_check_rejects_truthy_objects_that_are_not_bools(condition, type_name):
    """Does check refuse a truthy non-bool (so `check(x.sum(), ...)` cannot pass by accident) and
    name its type?"""
    message = failure(check, condition, "mask is all true")
    assert message.startswith("mask is all true")
    assert f"got a {type_name}, not a bool" in message


def test_passed_prints_to_stdout_and_returns_none(capsys):
    """Does passed() print one line to stdout, nothing to stderr, and return None (no output
    value that nbgrader could read as partial credit)?"""
    assert passed("conv2d matches torch") is None
    out, err = capsys.readouterr()
    assert out == "\u2714 conv2d matches torch\n"
    assert err == ""


def test_passed_still_prints_when_print_is_replaced(capsys, monkeypatch):
    """Does passed() print even when a student cell replaced builtins.print?"""
    monkeypatch.setattr(builtins, "print", lambda *a, **k: None)
    passed("still here")
    monkeypatch.undo()
    assert capsys.readouterr().out == "\u2714 still here\n"


# --- as_array -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "value, reference",
    [
        (3, np.array(3)),
        (2.5, np.array(2.5)),
        (1 + 2j, np.array(1 + 2j)),
        (True, np.array(True)),
        (np.float32(0.5), np.array(0.5, dtype=np.float32)),
        (np.arange(6).reshape(2, 3), np.arange(6).reshape(2, 3)),
        ([[1, 2], [3, 4]], np.array([[1, 2], [3, 4]])),
        ((1.0, 2.0), np.array([1.0, 2.0])),
        ([torch.tensor(1.0), torch.tensor(2.0)], np.array([1.0, 2.0], dtype=np.float32)),
        (torch.arange(4.0, requires_grad=True) * 2, np.arange(4.0, dtype=np.float32) * 2),
        (torch.nn.Parameter(torch.ones(2, 2)), np.ones((2, 2), dtype=np.float32)),
        (torch.tensor([1 + 2j]).conj(), np.array([1 - 2j], dtype=np.complex64)),
        ([], np.array([])),
    ],
    ids=lambda v: type(v).__name__,
)
def test_as_array_converts_genuine_values(value, reference):
    """Does as_array give the numpy array numpy/torch themselves give (values, dtype, shape)?"""
    got = as_array(value)
    assert type(got) is np.ndarray
    assert got.dtype == reference.dtype
    assert got.shape == reference.shape
    assert np.array_equal(got, reference)


@pytest.mark.parametrize(
    "value, words",
    [
        ("1.0", "builtins.str"),
        (None, "builtins.NoneType"),
        ({"a": 1}, "builtins.dict"),
        (np.array(["a", "b"]), "dtype <U1"),
        (np.array([1, None], dtype=object), "dtype object"),
        ([1.0, "2"], "builtins.str"),
    ],
    ids=repr,
)
def test_as_array_rejects_non_numbers(value, words):
    """Does as_array reject strings, None, dicts and non-numeric arrays with a CheckFailure?"""
    message = failure(as_array, value, name="logits")
    assert message.startswith("logits:")
    assert words in message


# --- assert_close: passing ----------------------------------------------------------------------
_rng = np.random.default_rng(1234)
_A = _rng.normal(size=(3, 4))


@pytest.mark.parametrize(
    "actual, expected",
    [
        (_A.copy(), _A),
        (torch.from_numpy(_A.copy()), torch.from_numpy(_A)),
        (torch.from_numpy(_A.copy()), _A),
        (0.1 + 0.2, 0.3),
        (3, 3.0),
        (np.float32(0.25), 0.25),
        ([[1, 2], [3, 4]], np.array([[1.0, 2.0], [3.0, 4.0]])),
        (([1.0, 2.0], (3.0, 4.0)), [(1.0, 2.0), [3.0, 4.0]]),
        ([torch.tensor(1.0), torch.tensor(2.0)], torch.tensor([1.0, 2.0])),
        (torch.ones(2, requires_grad=True) * 3, torch.full((2,), 3.0)),
        (torch.nn.Parameter(torch.ones(2)), torch.ones(2)),
        (np.array([1 + 1j, 2 - 1j]), np.array([1 + 1j, 2 - 1j])),
        (np.zeros((0, 3)), np.zeros((0, 3))),
        (np.array([1.0, np.nan, 3.0]), np.array([1.0, np.nan, 3.0])),
        (torch.tensor([np.nan, 1.0]), torch.tensor([np.nan, 1.0])),
        (float("nan"), float("nan")),
    ],
    ids=lambda v: type(v).__name__,
)
def test_assert_close_passes_on_equal_values(actual, expected):
    """Do equal numpy arrays, tensors, floats, nested lists (and NaN against NaN) pass?"""
    assert assert_close(actual, expected) is None


def test_assert_close_ignores_dtype_unless_asked():
    """Is float32 vs float64 fine by default and a failure naming both dtypes with check_dtype?"""
    assert_close(np.ones(3, dtype=np.float32), np.ones(3))
    message = failure(assert_close, np.ones(3, dtype=np.float32), np.ones(3), check_dtype=True)
    assert "dtype float32, expected float64" in message
    message = failure(
        assert_close,
        torch.ones(2, dtype=torch.float64),
        torch.ones(2, dtype=torch.float32),
        check_dtype=True,
        name="weights",
    )
    assert message.startswith("weights: dtype float64, expected float32")


# --- assert_close: failing, and what the message says -------------------------------------------
@pytest.mark.parametrize(
    "actual_shape, expected_shape",
    [((2, 3), (3, 2)), ((3,), (1, 3)), ((4, 1), (4,)), ((), (1,))],
)
def test_assert_close_names_both_shapes_and_never_broadcasts(actual_shape, expected_shape):
    """Does a shape mismatch fail (even where numpy would broadcast) and name both shapes?"""
    message = failure(assert_close, np.zeros(actual_shape), np.zeros(expected_shape))
    assert f"shape {actual_shape}, expected {expected_shape}" in message


def test_assert_close_failure_message_names_errors_worst_index_and_values():
    """Does the message give the number of bad values, the max abs and rel errors, the worst
    index with both values, and the tolerances, all as numpy computes them?"""
    expected = np.arange(1.0, 13.0).reshape(3, 4)
    actual = expected.copy()
    actual[0, 0] += 0.9  # largest relative error
    actual[1, 2] += 0.5
    actual[2, 3] -= 2.0  # largest absolute error
    message = failure(assert_close, actual, expected, name="conv out", rtol=1e-4, atol=1e-6)

    bad = ~np.isclose(actual, expected, rtol=1e-4, atol=1e-6)
    err = np.abs(actual - expected)
    worst = tuple(int(i) for i in np.unravel_index(np.argmax(np.where(bad, err, -1)), err.shape))
    assert worst == (2, 3)
    assert message.startswith("conv out:")
    assert f"{bad.sum()} of {expected.size} values differ (rtol=0.0001, atol=1e-06)" in message
    assert f"max abs error {err.max():.3g}" in message
    assert f"max rel error {(err / np.abs(expected)).max():.3g}" in message
    assert f"at index {worst}" in message
    assert f"expected {expected[worst].item()!r}, got {actual[worst].item()!r}" in message


def test_assert_close_message_includes_the_inputs():
    """Does the message end with the inputs that produced the wrong value, mapping or not?"""
    message = failure(
        assert_close, np.array([1.0]), np.array([2.0]), inputs={"n": 3, "mode": "same"}
    )
    assert message.splitlines()[-1] == "  input: n=3, mode='same'"
    message = failure(assert_close, np.array([1.0]), np.array([2.0]), inputs=(2, 3))
    assert message.splitlines()[-1] == "  input: (2, 3)"
    message = failure(
        assert_close, np.array([1.0]), np.array([2.0]), inputs={"x": np.arange(1000.0)}
    )
    last = message.splitlines()[-1]
    assert last.startswith("  input: x=array([") and "999." in last
    message = failure(assert_close, np.array([1.0]), np.array([2.0]), inputs="a" * 500)
    assert message.splitlines()[-1] == "  input: " + repr("a" * 500)[:157] + "..."


def test_assert_close_without_inputs_has_no_input_line():
    message = failure(assert_close, np.array([1.0]), np.array([2.0]))
    assert "input:" not in message


@pytest.mark.parametrize(
    "actual, expected",
    [
        ([1.0, np.nan], [1.0, 2.0]),
        ([1.0, 2.0], [1.0, np.nan]),
        ([np.nan, np.nan], [np.nan, 0.0]),
    ],
)
def test_assert_close_nan_against_a_number_fails(actual, expected):
    """Is NaN against a number a failure, in either direction, reported at the NaN's index?"""
    message = failure(assert_close, np.array(actual), np.array(expected))
    assert "1 of 2 values differ" in message
    index = int(np.flatnonzero(np.isnan(actual) != np.isnan(expected))[0])
    assert f"at index ({index},)" in message
    assert "nan" in message


def test_assert_close_nan_tensor_against_a_number_fails():
    message = failure(assert_close, torch.tensor([0.0, float("nan")]), torch.tensor([0.0, 1.0]))
    assert "got nan" in message


def test_assert_close_tolerance_is_relative_to_expected():
    """Is rtol scaled by |expected| (numpy.isclose's convention), not by |actual|?"""
    assert np.isclose(1.0, 1.1, rtol=0.095, atol=0) and not np.isclose(1.1, 1.0, rtol=0.095, atol=0)
    assert_close([1.0], [1.1], rtol=0.095, atol=0)
    failure(assert_close, [1.1], [1.0], rtol=0.095, atol=0)


def test_assert_close_verdicts_match_numpy_and_torch_isclose():
    """Over many random arrays, tolerances and perturbations near the tolerance, does
    assert_close pass exactly when numpy.isclose (and torch.isclose) says all are close?"""
    rng = np.random.default_rng(2024)
    verdicts = []
    for _ in range(400):
        size = int(rng.integers(1, 6))
        expected = rng.normal(size=size) * 10 ** rng.uniform(-3, 3)
        rtol = 10 ** rng.uniform(-8, -1)
        atol = float(rng.choice([0.0, 10 ** rng.uniform(-10, -2)]))
        noise = rng.normal(size=size) * (atol + rtol * np.abs(expected))
        actual = expected + noise * rng.uniform(0.3, 1.7)
        reference = bool(np.isclose(actual, expected, rtol=rtol, atol=atol).all())
        torch_ref = bool(
            torch.isclose(
                torch.from_numpy(actual), torch.from_numpy(expected), rtol=rtol, atol=atol
            ).all()
        )
        assert torch_ref == reference
        got = verdict(assert_close, actual, expected, rtol=rtol, atol=atol) == "pass"
        assert got == reference, (actual, expected, rtol, atol)
        verdicts.append(got)
    assert 50 < sum(verdicts) < 350, "the random cases should exercise both verdicts"


@pytest.mark.parametrize(
    "actual, expected",
    [
        (1.0, 2.0),
        (np.float64(1.0), np.float64(2.0)),
        (np.array(1.0), np.array(2.0)),
        (torch.tensor(1.0), torch.tensor(2.0)),
        (float("nan"), 1.0),
    ],
    ids=lambda v: type(v).__name__,
)
def test_assert_close_scalar_failure_is_a_check_failure(actual, expected):
    """Does a wrong scalar (a loss, a norm) fail with the usual message?"""
    message = failure(assert_close, actual, expected)
    assert "1 of 1 values differ" in message
    assert f"got {float(actual)!r}" in message


@pytest.mark.parametrize(
    "actual, expected",
    [
        pytest.param(
            [1.0, np.inf],
            [1.0, np.inf],
        ),
        pytest.param(
            [1.0, -np.inf],
            [1.0, -np.inf],
        ),
        pytest.param(
            [1.0, 5.0],
            [1.0, np.inf],
        ),
        pytest.param(
            [np.inf, 0.0],
            [-np.inf, 0.0],
        ),
        ([np.inf, 0.0], [1.0, 0.0]),
        ([np.nan, 0.0], [np.inf, 0.0]),
    ],
)
def test_assert_close_infinities_match_numpy_isclose(actual, expected):
    """Do infinite values get numpy.isclose's verdict (equal infinities close, anything else
    not)?"""
    reference = bool(np.isclose(actual, expected, equal_nan=True).all())
    assert verdict(assert_close, np.array(actual), np.array(expected)) == (
        "pass" if reference else "fail"
    )


def test_assert_close_ragged_list_is_a_check_failure():
    """Is a ragged nested list reported as a CheckFailure rather than numpy's ValueError?"""
    failure(assert_close, [[1.0, 2.0], [3.0]], [[1.0, 2.0], [3.0]])


def test_bfloat16_tensors_are_compared():
    """Can results computed in bfloat16 be compared and their shapes checked?"""
    assert_shape(torch.ones(2, 3, dtype=torch.bfloat16), (2, 3))
    assert_close(torch.ones(2, dtype=torch.bfloat16), torch.ones(2))
    failure(assert_close, torch.ones(2, dtype=torch.bfloat16), torch.zeros(2))


# --- monkeypatch resistance ---------------------------------------------------------------------
_FIXED = np.zeros(3)
_FIXED_T = torch.zeros(3)


def _lies():
    """Replacements a student cell could make after the setup cell imported autograder.checks;
    every one would make different values look equal if the checks used it."""
    return {
        "np.allclose": (np, "allclose", lambda *a, **k: True),
        "np.isclose": (np, "isclose", lambda a, *r, **k: _FIXED == _FIXED),
        "np.abs": (np, "abs", lambda v, *a, **k: _FIXED.copy()),
        "np.absolute": (np, "absolute", lambda v, *a, **k: _FIXED.copy()),
        "np.asarray": (np, "asarray", lambda *a, **k: _FIXED.copy()),
        "np.array": (np, "array", lambda *a, **k: _FIXED.copy()),
        "np.isnan": (np, "isnan", lambda *a, **k: _FIXED == _FIXED),
        "np.any": (np, "any", lambda *a, **k: False),
        "np.count_nonzero": (np, "count_nonzero", lambda *a, **k: 0),
        "torch.allclose": (torch, "allclose", lambda *a, **k: True),
        "torch.isclose": (torch, "isclose", lambda *a, **k: torch.ones(3, dtype=torch.bool)),
        "Tensor.detach": (torch.Tensor, "detach", lambda self: _FIXED_T),
        "Tensor.cpu": (torch.Tensor, "cpu", lambda self, *a, **k: _FIXED_T),
        "Tensor.numpy": (torch.Tensor, "numpy", lambda self, *a, **k: _FIXED.copy()),
        "builtins.abs": (builtins, "abs", lambda v: 0),
        "builtins.max": (builtins, "max", lambda *a, **k: 0),
        "builtins.float": (builtins, "float", lambda *a: 0.0),
    }


def _sum_of_sin(v):
    return torch.sin(v).sum()


def _verdicts_under_attack(monkeypatch, names):
    """Run a fixed battery of checks with the named lies in place; return the outcomes, after
    every replacement has been undone."""
    a = np.array([1.0, 2.0, 3.0])
    b = np.array([1.0, 2.0, 4.0])
    ta, tb = torch.tensor([1.0, 2.0, 3.0]), torch.tensor([1.0, 2.0, 4.0])
    grad_x = np.array([[0.3, -1.2], [2.0, 0.7]])
    battery = {
        "close np equal": lambda: assert_close(a.copy(), a),
        "close np differ": lambda: assert_close(a, b),
        "close torch equal": lambda: assert_close(ta.clone(), ta),
        "close torch differ": lambda: assert_close(ta, tb),
        "close torch vs np differ": lambda: assert_close(ta, b),
        "close list differ": lambda: assert_close([1.0, 2.0, 3.0], [1.0, 2.0, 4.0]),
        "close nan differ": lambda: assert_close(np.array([np.nan, 2.0, 3.0]), a),
        "equal same": lambda: assert_equal(3, 3),
        "equal differ": lambda: assert_equal(3, 4),
        "shape np right": lambda: assert_shape(np.zeros((2, 3)), (2, 3)),
        "shape torch wrong": lambda: assert_shape(torch.zeros(2, 3), (3, 2)),
        "check false": lambda: check(False, "no"),
        "check int": lambda: check(1, "no"),
        "gradient right": lambda: assert_gradient(np.cos(grad_x), _sum_of_sin, grad_x),
        "gradient wrong": lambda: assert_gradient(np.sin(grad_x), _sum_of_sin, grad_x),
    }
    values = {
        "rel_error": lambda: rel_error(a, b),
        "numerical_gradient": lambda: numerical_gradient(lambda v: np.sin(v).sum(), grad_x),
    }
    lies = _lies()
    for name in names:
        monkeypatch.setattr(*lies[name])
    outcomes = {label: verdict(fn) for label, fn in battery.items()}
    computed = {}
    for label, fn in values.items():
        try:
            computed[label] = fn()
        except Exception as err:  # noqa: BLE001 - asserted after undo
            computed[label] = f"error: {type(err).__name__}: {err}"
    monkeypatch.undo()
    return outcomes, computed, (a, b, grad_x)


_EXPECTED_OUTCOMES = {
    "close np equal": "pass",
    "close np differ": "fail",
    "close torch equal": "pass",
    "close torch differ": "fail",
    "close torch vs np differ": "fail",
    "close list differ": "fail",
    "close nan differ": "fail",
    "equal same": "pass",
    "equal differ": "fail",
    "shape np right": "pass",
    "shape torch wrong": "fail",
    "check false": "fail",
    "check int": "fail",
    "gradient right": "pass",
    "gradient wrong": "fail",
}


@pytest.mark.parametrize("lie", [*_lies(), "all at once"])
def test_verdicts_survive_replaced_library_functions(monkeypatch, lie):
    """After importing autograder.checks, a student cell replaces np.allclose, np.abs,
    torch.Tensor.detach, builtins.abs... with functions that lie: are the verdicts, rel_error
    and numerical_gradient unchanged?"""
    names = list(_lies()) if lie == "all at once" else [lie]
    outcomes, computed, (a, b, grad_x) = _verdicts_under_attack(monkeypatch, names)
    assert outcomes == _EXPECTED_OUTCOMES
    assert computed["rel_error"] == pytest.approx(cs231n_rel_error(a, b), rel=1e-12)
    grad = computed["numerical_gradient"]
    assert isinstance(grad, np.ndarray), grad
    assert np.abs(grad - np.cos(grad_x)).max() < 1e-6


def test_lies_are_really_in_place_during_the_attack(monkeypatch):
    """Sanity check of the attack itself: with the lies installed, would naive checks pass?"""
    for target, name, value in _lies().values():
        if target is not builtins:
            monkeypatch.setattr(target, name, value)
    a, b = np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 4.0])
    naive = (
        np.allclose(a, b),
        bool(np.isclose(a, b).all()),
        bool(np.abs(a - b).max() == 0),
        torch.allclose(torch.tensor(a), torch.tensor(b)),
        bool((torch.tensor(a).detach().numpy() == _FIXED).all()),
    )
    monkeypatch.undo()
    assert naive == (True, True, True, True, True)


def test_numerical_gradient_survives_replaced_zeros_like(monkeypatch):
    """Is the gradient oracle immune to a replaced np.zeros_like?"""
    x = np.array([[0.3, -1.2], [2.0, 0.7]])
    monkeypatch.setattr(np, "zeros_like", lambda v, *a, **k: np.full(v.shape[::-1], 7.0).T)
    grad = numerical_gradient(lambda v: np.sin(v).sum(), x)
    monkeypatch.undo()
    assert np.abs(grad - np.cos(x)).max() < 1e-6


# --- objects that cheat -------------------------------------------------------------------------
class AlwaysEqual:
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = object.__hash__


class LyingArray(np.ndarray):
    def __eq__(self, other):
        return np.ones(self.shape, dtype=bool)

    def __sub__(self, other):
        return np.zeros(self.shape)

    def __abs__(self):
        return np.zeros(self.shape)


class ArrayFunctionLiar:
    def __array_function__(self, func, types, args, kwargs):
        return True

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return np.zeros(3)

    def __array__(self, dtype=None, copy=None):
        return np.array([1.0, 2.0, 4.0])


class ArrayLiar:
    """Claims, through __array__, to be the expected answer."""

    def __array__(self, dtype=None, copy=None):
        return np.array([1.0, 2.0, 4.0])

    def __len__(self):
        return 3

    def __getitem__(self, i):
        return [1.0, 2.0, 4.0][i]


class LyingTensor(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        return torch.tensor([1.0, 2.0, 4.0])


class LyingFloat(float):
    def __eq__(self, other):
        return True

    __hash__ = float.__hash__


class LyingInt(int):
    def __eq__(self, other):
        return True

    __hash__ = int.__hash__


class LyingFloat64(np.float64):
    def __eq__(self, other):
        return True

    __hash__ = np.float64.__hash__


CHEATS = {
    "AlwaysEqual": lambda: AlwaysEqual(),
    "LyingArray": lambda: np.array([1.0, 2.0, 3.0]).view(LyingArray),
    "ArrayFunctionLiar": lambda: ArrayFunctionLiar(),
    "ArrayLiar": lambda: ArrayLiar(),
    "LyingTensor": lambda: torch.tensor([1.0, 2.0, 3.0]).as_subclass(LyingTensor),
    "LyingFloat": lambda: LyingFloat(1.0),
    "LyingInt": lambda: LyingInt(1),
    "LyingFloat64": lambda: LyingFloat64(1.0),
}


@pytest.mark.parametrize("cheat", CHEATS)
@pytest.mark.parametrize("expected", [[1.0, 2.0, 4.0], np.array([1.0, 2.0, 4.0]), 4.0])
def test_assert_close_rejects_objects_that_claim_equality(cheat, expected):
    """Is an object with a lying __eq__/__sub__/__array__/__array_function__/__torch_function__
    rejected, naming its type, whatever the expected value?"""
    message = failure(assert_close, CHEATS[cheat](), expected)
    assert cheat in message


@pytest.mark.parametrize("cheat", CHEATS)
def test_assert_close_rejects_cheats_given_as_expected_or_inside_lists(cheat):
    assert cheat in failure(assert_close, [1.0, 2.0, 4.0], CHEATS[cheat]())
    assert cheat in failure(assert_close, [CHEATS[cheat](), 2.0], [1.0, 2.0])


@pytest.mark.parametrize("cheat", ["AlwaysEqual", "LyingFloat", "LyingInt", "LyingFloat64"])
@pytest.mark.parametrize("expected", [5, "five", (5,), None])
def test_assert_equal_rejects_objects_that_claim_equality(cheat, expected):
    assert cheat in failure(assert_equal, CHEATS[cheat](), expected)
    assert cheat in failure(assert_equal, (CHEATS[cheat](),), (expected,))


class _EqualMeta(type):
    """A metaclass whose classes compare equal to every type, e.g. to `float` in a tuple."""

    def __eq__(cls, other):
        return True

    __hash__ = type.__hash__


class MetaLiar(metaclass=_EqualMeta):
    def __eq__(self, other):
        return True

    __hash__ = object.__hash__

    def __array__(self, dtype=None, copy=None):
        return np.array([1.0, 2.0, 4.0])


def test_type_checks_are_not_fooled_by_a_metaclass_eq():
    """Is a class whose metaclass says it equals `float` still rejected?"""
    message_close = verdict(assert_close, MetaLiar(), [1.0, 2.0, 4.0])
    message_equal = verdict(assert_equal, MetaLiar(), 5)
    assert (message_close, message_equal) == ("fail", "fail")


# --- assert_equal -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "actual, expected",
    [
        (3, 3),
        (3, 3.0),
        ("relu", "relu"),
        (None, None),
        (True, True),
        ((2, 3), (2, 3)),
        ([2, 3], (2, 3)),
        (((1, "a"), 2.5), ((1, "a"), 2.5)),
        (np.int64(7), 7),
        (np.int32(7), np.int64(7)),
        (np.float32(0.5), 0.5),
        (np.bool_(True), True),
        (torch.tensor(3), 3),
        ((np.int64(2), torch.tensor(3)), (2, 3)),
    ],
    ids=repr,
)
def test_assert_equal_passes_on_equal_plain_values(actual, expected):
    assert assert_equal(actual, expected) is None


@pytest.mark.parametrize(
    "actual, expected",
    [
        (3, 4),
        ("relu", "gelu"),
        ((2, 3), (3, 2)),
        ((2, 3), (2, 3, 1)),
        (np.int64(7), 8),
        (True, 1),
        (1, True),
        (None, 0),
        ("3", 3),
        (torch.tensor(3), 4),
    ],
    ids=repr,
)
def test_assert_equal_mismatch_shows_expected_and_got(actual, expected):
    """Does a mismatch fail and show both values as Python reprs (plain Python values)?"""
    message = failure(assert_equal, actual, expected, name="label", inputs={"i": 4})

    def plain(v):
        if isinstance(v, (list, tuple)):
            return tuple(plain(u) for u in v)
        return v.item() if hasattr(v, "item") else v

    assert message == f"label: expected {plain(expected)!r}, got {plain(actual)!r}\n  input: i=4"


@pytest.mark.parametrize(
    "value", [np.array([1, 2]), torch.tensor([1, 2]), {"a": 1}, {1, 2}], ids=repr
)
def test_assert_equal_rejects_non_plain_values(value):
    """Are arrays, multi-element tensors, dicts and sets refused as not plain values?"""
    message = failure(assert_equal, value, (1, 2))
    assert f"got {type(value).__module__}.{type(value).__qualname__}" in message


# --- assert_shape -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "value, shape",
    [
        (np.zeros((2, 3, 4)), (2, 3, 4)),
        (torch.zeros(2, 3, 4), (2, 3, 4)),
        (torch.zeros(2, 3, 4), torch.Size([2, 3, 4])),
        (torch.zeros(5, requires_grad=True), [5]),
        (np.float64(1.0), ()),
        ([[1, 2, 3], [4, 5, 6]], (2, 3)),
    ],
    ids=lambda v: type(v).__name__,
)
def test_assert_shape_passes_on_the_right_shape(value, shape):
    assert assert_shape(value, shape) is None


@pytest.mark.parametrize(
    "value", [np.zeros((2, 3)), torch.zeros(2, 3)], ids=lambda v: type(v).__name__
)
def test_assert_shape_names_both_shapes(value):
    message = failure(assert_shape, value, (3, 2), name="features")
    assert message == "features: shape (2, 3), expected (3, 2)"
    assert "(2, 3, 1)" in failure(assert_shape, value, (2, 3, 1))


@pytest.mark.parametrize("value, type_name", [(None, "NoneType"), ("abc", "str"),
                                              ({"a": 1}, "dict")], ids=repr)
def test_assert_shape_names_the_value_and_what_it_got_when_it_is_no_array(value, type_name):
    """Does a value that has no shape fail with the given name and its type, not 'result'?"""
    message = failure(assert_shape, value, (2, 3), name="history")
    assert message.startswith("history: ") and type_name in message


def test_assert_shape_rejects_cheats():
    assert "LyingTensor" in failure(assert_shape, CHEATS["LyingTensor"](), (3,))


# --- assert_sympy_equal -------------------------------------------------------------------------
_f = sympy.exp(t_sym / 2) * sympy.sin(t_sym / 3) ** 2
_s, _c = sympy.sin(t_sym / 3), sympy.cos(t_sym / 3)
_DERIVATIVE_FORMS = [
    sympy.exp(t_sym / 2) * (_s**2 / 2 + sympy.Rational(2, 3) * _s * _c),
    sympy.exp(t_sym / 2) * (_s**2 / 2 + sympy.sin(2 * t_sym / 3) / 3),
    sympy.exp(t_sym / 2) * (1 - sympy.cos(2 * t_sym / 3)) / 4
    + sympy.exp(t_sym / 2) * sympy.sin(2 * t_sym / 3) / 3,
]


@pytest.mark.parametrize(
    "actual, expected",
    [
        (sympy.sin(x_sym) ** 2 + sympy.cos(x_sym) ** 2, 1),
        (sympy.sin(x_sym) ** 2 + sympy.cos(x_sym) ** 2, sympy.Integer(1)),
        ((x_sym + 1) ** 2, x_sym**2 + 2 * x_sym + 1),
        (sympy.exp(2 * sympy.log(x_sym)), x_sym**2),
        (sympy.Integer(2), 2),
        *[(form, sympy.diff(_f, t_sym)) for form in _DERIVATIVE_FORMS],
        (sympy.diff(_f, t_sym), "exp(t/2)*sin(t/3)**2/2 + 2*exp(t/2)*sin(t/3)*cos(t/3)/3"),
    ],
    ids=str,
)
def test_assert_sympy_equal_passes_on_equal_forms(actual, expected):
    """Do different but equal forms pass, including derivatives written by hand?"""
    assert assert_sympy_equal(actual, expected) is None


def _point_and_values(message):
    match = re.search(r"at (\{.*?\}): expected (\S+), got (\S+?)(\n|$)", message)
    assert match, message
    point = {k: float(v) for k, v in re.findall(r"'(\w+)': ([-0-9.e]+)", match.group(1))}
    return point, float(match.group(2)), float(match.group(3))


@pytest.mark.parametrize(
    "actual, expected",
    [
        (x_sym + 1, x_sym + 2),
        (sympy.sqrt(x_sym**2), x_sym),
        (sympy.sin(x_sym) ** 2 - sympy.cos(x_sym) ** 2, 1),
        (
            sympy.exp(t_sym / 2) * (sympy.sin(t_sym / 3) ** 2 / 2 + sympy.sin(2 * t_sym / 3) / 6),
            sympy.diff(_f, t_sym),
        ),
        (sympy.Integer(2), 3),
        (x_sym * t_sym, x_sym + t_sym),
    ],
    ids=str,
)
def test_assert_sympy_equal_fails_naming_a_point_where_they_differ(actual, expected):
    """Does a wrong expression fail, naming a point at which sympy itself finds different
    values, and the two values there?"""
    message = failure(assert_sympy_equal, actual, expected, name="dL/dt", inputs={"case": 1})
    assert message.startswith(f"dL/dt: {actual} is not equal to the expected expression")
    assert message.endswith("input: case=1")
    point, shown_expected, shown_actual = _point_and_values(message)
    subs = {sympy.Symbol(k): v for k, v in point.items()}
    value_a = complex(sympy.sympify(actual).evalf(subs=subs))
    value_e = complex(sympy.sympify(expected).evalf(subs=subs))
    assert abs(value_a - value_e) > 1e-6
    assert shown_actual == pytest.approx(value_a.real, rel=1e-5, abs=1e-9)
    assert shown_expected == pytest.approx(value_e.real, rel=1e-5, abs=1e-9)


@pytest.mark.parametrize(
    "value, type_name",
    [
        (1.0, "builtins.float"),
        ("x + 1", "builtins.str"),
        (np.float64(1.0), "numpy.float64"),
        (np.array([1.0]), "numpy.ndarray"),
        (lambda x: x, "builtins.function"),
        (torch.tensor(1.0), "torch.Tensor"),
    ],
    ids=lambda v: type(v).__name__,
)
def test_assert_sympy_equal_rejects_non_sympy_objects(value, type_name):
    message = failure(assert_sympy_equal, value, 1.0)
    assert f"expected a sympy expression, got {type_name}" in message


def test_assert_sympy_equal_rejects_a_non_sympy_node():
    """Is a sympy Basic subclass defined outside sympy (which could lie about itself) refused?"""

    class Sneaky(sympy.Symbol):
        pass

    message = failure(assert_sympy_equal, Sneaky("y") + 1, sympy.Symbol("y") + 1)
    assert "non-sympy object" in message and "Sneaky" in message


@pytest.mark.parametrize(
    "actual, expected",
    [
        (sympy.sqrt(x_sym - 10), sympy.sqrt(x_sym - 10) + 1),
        (sympy.log(x_sym - 5), 2 * sympy.log(x_sym - 5)),
    ],
    ids=str,
)
def test_assert_sympy_equal_fails_when_no_point_is_in_the_domain(actual, expected):
    """Is an unequal pair still rejected when it is only defined far from the sample points?"""
    failure(assert_sympy_equal, actual, expected)


@pytest.mark.parametrize(
    "target, name, lie",
    [
        (builtins, "abs", lambda v, _abs=abs: 0.0 if type(v) is complex else _abs(v)),
        (builtins, "complex", lambda *a, _c=complex: _c(0)),
        (sympy.Expr, "__sub__", lambda self, other: sympy.Integer(0)),
    ],
    ids=["builtins.abs", "builtins.complex", "sympy.Expr.__sub__"],
)
def test_assert_sympy_equal_survives_replaced_functions(monkeypatch, target, name, lie):
    """Does a wrong expression still fail after a student cell replaced a function?"""
    monkeypatch.setattr(target, name, lie)
    wrong, right = 2 * x_sym * sympy.sin(x_sym), x_sym * sympy.sin(x_sym)
    outcome = verdict(assert_sympy_equal, wrong, right)
    monkeypatch.undo()
    assert outcome == "fail"


def test_assert_sympy_equal_survives_a_replaced_math_function(monkeypatch):
    """Does a wrong expression still fail when math.sin was replaced before the first
    assert_sympy_equal call of the kernel?"""
    namespace = sys.modules["sympy.utilities.lambdify"].MATH
    saved = dict(namespace)
    namespace.clear()  # as in a fresh kernel: nothing lambdified yet
    try:
        monkeypatch.setattr(math, "sin", lambda v: 0.0)
        wrong, right = 2 * x_sym * sympy.sin(x_sym), x_sym * sympy.sin(x_sym)
        outcome = verdict(assert_sympy_equal, wrong, right)
        monkeypatch.undo()
    finally:  # drop the namespace filled from the patched module, restore the genuine one
        namespace.clear()
        namespace.update(saved)
    assert outcome == "fail"


# --- assert_raises ------------------------------------------------------------------------------
def _needs_positive(n):
    if n <= 0:
        raise ValueError(f"n must be positive, got {n}")
    return n


def test_assert_raises_passes_on_the_right_exception():
    assert assert_raises(ValueError, _needs_positive, -1) is None
    assert assert_raises(ValueError, _needs_positive, -1, match="must be positive") is None
    assert_raises(LookupError, {}.__getitem__, "missing")  # KeyError is a LookupError
    assert_raises(ValueError, int, "12", base=2)  # keyword arguments reach fn


def test_assert_raises_fails_on_the_wrong_exception_type():
    message = failure(assert_raises, TypeError, _needs_positive, -1)
    assert message == (
        "_needs_positive raised ValueError: n must be positive, got -1; expected TypeError"
    )


def test_assert_raises_fails_when_nothing_is_raised():
    message = failure(assert_raises, ValueError, _needs_positive, 3)
    assert "_needs_positive returned normally; expected ValueError" in message
    assert message.endswith("input: (3,)")
    assert "returned normally" in failure(assert_raises, ValueError, int, "11", base=2)


def test_assert_raises_fails_when_the_message_does_not_match():
    message = failure(assert_raises, ValueError, _needs_positive, -1, match="must be negative")
    assert "raised ValueError as expected" in message
    assert "'n must be positive, got -1'" in message and "'must be negative'" in message


# --- rel_error ----------------------------------------------------------------------------------
def test_rel_error_equals_the_cs231n_formula_on_random_arrays():
    rng = np.random.default_rng(7)
    for shape in [(1,), (5,), (3, 4), (2, 3, 4)]:
        for scale in [1e-9, 1e-3, 1.0, 1e4]:
            x = rng.normal(size=shape) * scale
            y = x + rng.normal(size=shape) * scale * 10 ** rng.uniform(-9, 0)
            assert rel_error(x, y) == pytest.approx(cs231n_rel_error(x, y), rel=1e-12, abs=0)
            assert rel_error(y, x) == pytest.approx(rel_error(x, y), rel=1e-12, abs=0)
            tx, ty = torch.from_numpy(x), torch.from_numpy(y)
            assert rel_error(tx, ty) == pytest.approx(cs231n_rel_error(x, y), rel=1e-12)


def test_rel_error_of_equal_values_is_zero_and_float32_rounding_is_small():
    x = np.random.default_rng(8).normal(size=(4, 5))
    assert rel_error(x, x.copy()) == 0.0
    assert type(rel_error(x, x)) is float
    assert rel_error(x.astype(np.float32), x) < 1e-7


def test_rel_error_rejects_different_shapes():
    assert "(2, 3) and (3, 2)" in failure(rel_error, np.zeros((2, 3)), np.zeros((3, 2)))


# --- numerical_gradient -------------------------------------------------------------------------
def test_numerical_gradient_of_a_quadratic_form_matches_the_analytic_and_autograd_gradient():
    rng = np.random.default_rng(11)
    A = rng.normal(size=(5, 5))
    b = rng.normal(size=5)
    x = rng.normal(size=5)
    x_before = x.copy()

    def f(v):
        return 0.5 * v @ A @ v + b @ v

    grad = numerical_gradient(f, x)
    analytic = 0.5 * (A + A.T) @ x + b
    xt = torch.tensor(x, requires_grad=True)
    (0.5 * xt @ torch.from_numpy(A) @ xt + torch.from_numpy(b) @ xt).backward()
    assert grad.dtype == np.float64 and grad.shape == x.shape
    assert np.abs(grad - analytic).max() < 1e-6
    assert np.abs(grad - xt.grad.numpy()).max() < 1e-6
    assert np.array_equal(x, x_before)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_numerical_gradient_of_sum_of_sin_is_cos(dtype):
    x = np.random.default_rng(12).uniform(-3, 3, size=(3, 4)).astype(dtype)
    x_before = x.copy()
    grad = numerical_gradient(lambda v: np.sin(v).sum(), x)
    assert grad.dtype == np.float64 and grad.shape == (3, 4)
    assert np.abs(grad - np.cos(x.astype(np.float64))).max() < 1e-6
    assert x.dtype == dtype and np.array_equal(x, x_before)


def test_numerical_gradient_accepts_a_tensor_and_leaves_it_unchanged():
    x = torch.linspace(-1.0, 2.0, 6, dtype=torch.float64).reshape(2, 3)
    x_before = x.clone()
    grad = numerical_gradient(lambda v: float((torch.from_numpy(v) ** 3).sum()), x)
    assert np.abs(grad - 3 * x.numpy() ** 2).max() < 1e-6
    assert torch.equal(x, x_before)


def test_numerical_gradient_is_not_fooled_by_a_function_that_mutates_its_argument():
    """Does each evaluation get its own copy, so an f that writes into its input cannot corrupt
    the point being differentiated?"""
    x = np.array([0.5, -0.25, 1.5])

    def f(v):
        value = np.sin(v).sum()
        v[...] = 100.0
        return value

    grad = numerical_gradient(f, x)
    assert np.abs(grad - np.cos(x)).max() < 1e-6
    assert np.array_equal(x, [0.5, -0.25, 1.5])


def test_rel_error_of_empty_arrays_is_zero():
    assert rel_error([], []) == 0.0


# --- relative_error ---------------------------------------------------------------------------
def test_relative_error_is_rel_error_and_the_cs231n_formula():
    rng = np.random.default_rng(21)
    x, y = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    assert relative_error is rel_error
    assert relative_error(x, y) == pytest.approx(cs231n_rel_error(x, y), rel=1e-12)
    assert relative_error(2.0, 2.0) == 0.0
    assert relative_error(1.0, 3.0) == pytest.approx(0.5, rel=1e-15)  # |1 - 3| / (1 + 3)
    assert "relative_error: shapes (2,) and (3,)" in failure(relative_error, [1, 2], [1, 2, 3])


# --- count_calls --------------------------------------------------------------------------------
def test_count_calls_counts_every_call_and_returns_what_fn_returns():
    counted = count_calls(np.sin)
    assert isinstance(counted, CountingFunction) and counted.count == 0
    values = [counted(v) for v in (0.0, 0.5, 1.0)]
    assert counted.count == 3 and counted.inputs == []
    assert values == [np.sin(0.0), np.sin(0.5), np.sin(1.0)]
    assert count_calls(lambda a, b=1: a * b)(3, b=4) == 12  # keyword arguments reach fn


def test_count_calls_records_float64_copies_of_the_points_in_order():
    """Does a recorded point keep the value it had at the call, even when the caller changes
    its array afterwards (as an fd_gradient that perturbs x in place would)?"""
    counted = count_calls(lambda z: float(np.sum(z**2)), record=True)
    z = np.array([1, 2])
    counted(z)
    z[0] = 5
    counted(z)
    counted(0.25)
    assert counted.count == 3
    assert [p.dtype for p in counted.inputs] == [np.float64] * 3
    assert [p.tolist() for p in counted.inputs] == [[1.0, 2.0], [5.0, 2.0], 0.25]


def test_count_calls_counts_calls_made_by_an_optimiser():
    """Is the count the number of evaluations scipy itself reports?"""
    from scipy.optimize import minimize, rosen

    counted = count_calls(rosen)
    result = minimize(counted, np.array([-1.2, 1.0]), method="Nelder-Mead")
    assert counted.count == result.nfev > 0


# --- torch_value_and_grad -----------------------------------------------------------------------
def test_torch_value_and_grad_of_a_scalar_function_matches_the_closed_form():
    value, grad = torch_value_and_grad(lambda t: torch.exp(t / 2) * torch.sin(t / 3) ** 2, 1.3)
    assert type(value) is float and type(grad) is float
    assert value == pytest.approx(math.exp(0.65) * math.sin(1.3 / 3) ** 2, rel=1e-14)
    closed_form = math.exp(0.65) * (math.sin(1.3 / 3) ** 2 / 2
                                    + 2 / 3 * math.sin(1.3 / 3) * math.cos(1.3 / 3))
    assert grad == pytest.approx(closed_form, rel=1e-14)
    assert grad == pytest.approx(0.65553, abs=5e-6)  # the slide's value, f'(1.3) in closed form


def test_torch_value_and_grad_of_a_quadratic_form_is_the_closed_form_gradient():
    rng = np.random.default_rng(22)
    A, b, x = rng.normal(size=(4, 4)), rng.normal(size=4), rng.normal(size=4)
    x_before = x.copy()
    At, bt = torch.from_numpy(A), torch.from_numpy(b)
    value, grad = torch_value_and_grad(lambda v: 0.5 * v @ At @ v + bt @ v, x)
    assert value == pytest.approx(0.5 * x @ A @ x + b @ x, rel=1e-12)
    assert grad.dtype == np.float64 and grad.shape == (4,)
    assert np.abs(grad - (0.5 * (A + A.T) @ x + b)).max() < 1e-12
    assert np.array_equal(x, x_before)


def test_torch_value_and_grad_takes_several_scalars_as_a_list_and_gives_zeros_for_unused():
    value, grad = torch_value_and_grad(lambda v: v[0] * v[1] + v[0], [2, -3])
    assert value == 2 * -3 + 2 and grad.tolist() == [-3 + 1, 2]
    _, grad = torch_value_and_grad(lambda v: torch.tensor(1.0, dtype=torch.float64), [1.0, 2.0])
    assert grad.tolist() == [0.0, 0.0]


def test_torch_value_and_grad_rejects_a_non_scalar_output():
    assert "one-element tensor" in failure(torch_value_and_grad, lambda v: v * 2, [1.0, 2.0])
    assert "builtins.float" in failure(torch_value_and_grad, lambda v: 1.0, 1.0)


# --- assert_gradient ----------------------------------------------------------------------------
def _rosenbrock(v):
    return (1 - v[0]) ** 2 + 100 * (v[1] - v[0] ** 2) ** 2


def test_assert_gradient_passes_scipys_rosenbrock_gradient_against_both_references():
    from scipy.optimize import rosen_der

    for point in ([-1.2, 1.0], [0.3, 0.7], [1.0, 1.0 + 1e-3]):
        x = np.array(point)
        assert assert_gradient(rosen_der(x), _rosenbrock, x, max_rel_error=1e-7) is None
        assert_gradient(rosen_der, _rosenbrock, x, max_rel_error=1e-7)  # a gradient function


def test_assert_gradient_checks_a_forward_difference_only_to_its_accuracy():
    """Is a forward difference (error ~ h) accepted at a loose tolerance against autograd, and
    rejected at a tight one, as its relative error says?"""
    x = np.array([0.4, -1.1, 2.0])
    h = 1e-4
    f = np.vectorize(math.sin)
    forward = (f(x + h) - f(x)) / h
    error = cs231n_rel_error(forward, np.cos(x))
    assert 1e-6 < error < 1e-3
    assert_gradient(forward, _sum_of_sin, x, max_rel_error=2 * error, against=("autograd",))
    message = failure(assert_gradient, forward, _sum_of_sin, x, max_rel_error=error / 2,
                      against=("autograd",), name="dL/dx")
    assert message.startswith(f"dL/dx: relative error {error:.3g} against the autograd gradient")


def test_assert_gradient_fails_naming_the_reference_the_worst_entry_and_the_input():
    x = np.array([[0.3, -1.2], [2.0, 0.7]])
    wrong = np.cos(x)
    wrong[1, 0] += 0.1
    for reference in ("autograd", "numerical"):
        message = failure(assert_gradient, wrong, _sum_of_sin, x, against=(reference,),
                          inputs={"x": 1})
        assert f"against the {reference} gradient, allowed 1e-07" in message
        assert "worst at index (1, 0)" in message and message.endswith("input: x=1")
        assert f"got {float(wrong[1, 0])!r}" in message


def test_assert_gradient_rejects_a_wrong_shape_and_an_unknown_reference():
    x = np.zeros(3)
    assert "shape (2,), expected the shape of x, (3,)" in failure(
        assert_gradient, np.zeros(2), _sum_of_sin, x)
    with pytest.raises(ValueError, match="finite"):
        assert_gradient(np.cos(x), _sum_of_sin, x, against=("finite",))


# --- tracebacks of failing checks in a notebook -------------------------------------------------
@pytest.mark.slow
def test_a_failing_check_in_a_kernel_shows_the_message_and_no_frame_of_checks(tmp_path):
    """Does a failing check in a real IPython kernel report the check's message with a
    traceback that ends at the test line (no frame from autograder/checks.py), while the cell
    still counts as failed and other errors keep their full traceback?"""
    import nbformat
    from conftest import execute
    from nbclient.exceptions import CellExecutionError

    cells = [
        "import autograder.checks\nimport numpy as np",
        "from autograder.checks import assert_close\n\n"
        "assert_close(np.array([1.0, 2.0]), np.array([1.0, 2.5]), name='w')",
        "def shapes():\n    autograder.checks.assert_shape(np.zeros(3), (2,), name='path')\n"
        "shapes()",
        "autograder.checks.numerical_gradient(lambda v: 1 / 0, np.zeros(1))",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    path = tmp_path / "failing.ipynb"
    nbformat.write(nb, path)
    ran, _ = execute(path, allow_errors=True)
    errors = [[o for o in c.outputs if o.output_type == "error"] for c in ran.cells]
    assert [len(e) for e in errors] == [0, 1, 1, 1]
    plain = [re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(e[0].traceback)) for e in errors[1:]]
    assert errors[1][0].ename == "CheckFailure"
    assert errors[1][0].evalue.startswith("w: 1 of 2 values differ")
    assert "----> 3 assert_close(" in plain[0] and "checks.py" not in plain[0]
    assert "path: shape (3,), expected (2,)" in plain[1] and "checks.py" not in plain[1]
    assert "in shapes()" in plain[1]  # the test's own frames stay
    assert "ZeroDivisionError" in plain[2] and "checks.py" in plain[2]  # others untouched
    with pytest.raises(CellExecutionError, match="values differ"):
        execute(path)
