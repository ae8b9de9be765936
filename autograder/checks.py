"""Assertions for notebook test cells: each failure says what differs and on which input.

Everything a comparison needs (numpy and torch functions, builtins) is captured when this
module is imported, in the read-only setup cell, before any student code runs, so a student
cell that later replaces ``np.allclose``, ``torch.Tensor.detach`` or ``builtins.abs`` does not
change a verdict. Values must be genuine numbers, arrays, tensors or sympy expressions: an
object that merely claims equality (a custom ``__eq__`` or ``__array_function__``) is rejected.
"""

from __future__ import annotations

import builtins
import cmath
import math
import types
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import sympy
import torch

# --- genuine references, bound once at import ------------------------------------------------
_type, _len, _repr, _str, _float, _int = type, len, repr, str, float, int
_tuple, _list, _zip, _range, _print = tuple, list, zip, range, builtins.print
_issubclass, _sorted = issubclass, sorted
_np_array, _np_abs, _np_isnan = np.array, np.abs, np.isnan
_np_argmax, _np_unravel, _np_any = np.argmax, np.unravel_index, np.any
_np_maximum, _np_count, _np_isinf = np.maximum, np.count_nonzero, np.isinf
_np_zeros = np.zeros
_callable, _getattr = callable, getattr
_t_tensor, _t_from_numpy, _t_float64 = torch.tensor, torch.from_numpy, torch.float64
_t_backward, _t_numel = torch.Tensor.backward, torch.Tensor.numel
_TracebackType = types.TracebackType
_np_ndarray, _np_generic = np.ndarray, np.generic
_np_float64 = np.float64
_Tensor, _Parameter = torch.Tensor, torch.nn.Parameter
_t_detach, _t_cpu, _t_numpy = torch.Tensor.detach, torch.Tensor.cpu, torch.Tensor.numpy
_t_resolve_conj, _t_float = torch.Tensor.resolve_conj, torch.Tensor.float
_bfloat16 = torch.bfloat16
_abs, _complex, _any, _all = builtins.abs, complex, any, all
_sym_basic, _sym_simplify, _sym_sympify = sympy.Basic, sympy.simplify, sympy.sympify
_sym_preorder, _sym_lambdify = sympy.preorder_traversal, sympy.lambdify
_sym_add, _sym_mul = sympy.Add, sympy.Mul
_sym_minus_one, _sym_zero = sympy.S.NegativeOne, sympy.S.Zero
_PLAIN_SCALARS = (bool, int, float, complex)


def _is_one_of(kind: type, kinds: tuple[type, ...]) -> bool:
    """Identity, not ``in``: a metaclass with a lying ``__eq__`` cannot pass as a plain type."""
    return _any(kind is k for k in kinds)
_NUMERIC_KINDS = "biufc"


class CheckFailure(AssertionError):
    """A test-cell check failed; the message says what differs and how to fix it."""


def check(condition: bool, message: str) -> None:
    """Fail with ``message`` unless ``condition`` is a genuine ``True``."""
    if _type(condition) is not bool and not _issubclass(_type(condition), np.bool_):
        raise CheckFailure(f"{message} (the check got a {_type(condition).__name__}, not a bool)")
    if not condition:
        raise CheckFailure(message)


def passed(message: str) -> None:
    """Print a one-line success note; returns None so a test cell never ends in a number."""
    _print(f"\u2714 {message}")


# --- turning values into trusted numpy arrays ------------------------------------------------
def _describe_input(inputs: Any) -> str:
    if inputs is None:
        return ""
    if isinstance(inputs, Mapping):
        text = ", ".join(f"{k}={_short(v)}" for k, v in inputs.items())
    else:
        text = _short(inputs)
    return f"\n  input: {text}"


def _short(value: Any, limit: int = 160) -> str:
    with np.printoptions(precision=4, threshold=12, edgeitems=2, linewidth=100):
        text = _repr(value)
    text = " ".join(text.split())
    return text if _len(text) <= limit else text[: limit - 3] + "..."


def _what(value: Any) -> str:
    kind = _type(value)
    return f"{kind.__module__}.{kind.__qualname__}"


def as_array(value: Any, name: str = "result") -> np.ndarray:
    """Convert a genuine number, list, numpy array or torch tensor to a numpy array.

    Raises CheckFailure for anything else (including subclasses that override comparisons).
    """
    kind = _type(value)
    if kind is _Tensor or kind is _Parameter:
        tensor = _t_cpu(_t_detach(value))
        if tensor.dtype is _bfloat16:  # numpy has no bfloat16
            tensor = _t_float(tensor)
        return _t_numpy(_t_resolve_conj(tensor))
    if kind is _np_ndarray:
        array = value
    elif _is_one_of(kind, _PLAIN_SCALARS) or (
        _issubclass(kind, _np_generic) and kind.__module__ == "numpy"
    ):
        array = _np_array(value)
    elif kind is list or kind is tuple:
        try:
            array = _np_array([as_array(v, name) for v in value])
        except ValueError:
            raise CheckFailure(f"{name}: a ragged nested list, not an array") from None
    else:
        raise CheckFailure(
            f"{name}: expected a number, numpy array or torch tensor, got {_what(value)}"
        )
    if array.dtype.kind not in _NUMERIC_KINDS:
        raise CheckFailure(f"{name}: expected numeric values, got dtype {array.dtype}")
    return array


def _shape_of(value: Any, name: str = "result") -> tuple[int, ...]:
    return _tuple(_int(s) for s in as_array(value, name).shape)


# --- comparisons ------------------------------------------------------------------------------
def assert_close(
    actual: Any,
    expected: Any,
    *,
    rtol: float = 1e-5,
    atol: float = 1e-8,
    name: str = "result",
    inputs: Any = None,
    check_dtype: bool = False,
    check_device: bool = True,
) -> None:
    """Check ``|actual - expected| <= atol + rtol * |expected|`` elementwise.

    Shapes must match exactly (no broadcasting). When both are tensors the device must match
    (``check_device``) and, with ``check_dtype``, so must the dtype. NaN must match NaN.
    """
    where = _describe_input(inputs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = as_array(actual, name)
        e = as_array(expected, f"expected {name}")
        tensors = (_Tensor, _Parameter)
        if _is_one_of(_type(actual), tensors) and _is_one_of(_type(expected), tensors):
            if check_device and actual.device.type != expected.device.type:
                raise CheckFailure(
                    f"{name}: on device {actual.device}, expected {expected.device}; "
                    f"create results on the inputs' device (x.device){where}"
                )
        if check_dtype and a.dtype != e.dtype:
            raise CheckFailure(f"{name}: dtype {a.dtype}, expected {e.dtype}{where}")
        if a.shape != e.shape:
            raise CheckFailure(
                f"{name}: shape {_tuple(a.shape)}, expected {_tuple(e.shape)}{where}"
            )
        if a.size == 0:
            return
        flat_a, flat_e = a.reshape(-1), e.reshape(-1)
        a64 = flat_a.astype(np.complex128 if a.dtype.kind == "c" else _np_float64)
        e64 = flat_e.astype(np.complex128 if e.dtype.kind == "c" else _np_float64)
        nan_a, nan_e = _np_isnan(a64), _np_isnan(e64)
        same = a64 == e64  # also equal infinities, whose difference is NaN
        err = _np_abs(a64 - e64)
        err[same] = 0.0
        tol = atol + rtol * _np_abs(e64)
        infinite = (_np_isinf(a64) | _np_isinf(e64)) & ~same
        bad = (err > tol) | (nan_a != nan_e) | infinite | (_np_isnan(err) & ~(nan_a & nan_e))
        n_bad = _int(_np_count(bad))
        if n_bad == 0:
            return
        score = err.copy()
        score[_np_isnan(score) | infinite] = np.inf
        score[~bad] = -1.0
        flat_worst = _int(_np_argmax(score))
        worst = _tuple(_int(i) for i in _np_unravel(flat_worst, a.shape)) if a.ndim else ()
        finite = ~_np_isnan(err) & ~_np_isinf(err)
        max_abs = _float(err[finite].max()) if _np_any(finite) else math.nan
        rel = err / _np_maximum(_np_abs(e64), 1e-300)
        max_rel = _float(rel[finite].max()) if _np_any(finite) else math.nan
        at = f" at index {worst}" if a.ndim else ""
        raise CheckFailure(
            f"{name}: {n_bad} of {a.size} values differ (rtol={rtol:g}, atol={atol:g})\n"
            f"  max abs error {max_abs:.3g}, max rel error {max_rel:.3g}\n"
            f"  worst{at}: expected {flat_e[flat_worst].item()!r}, "
            f"got {flat_a[flat_worst].item()!r}{where}"
        )


def relative_error(a: Any, b: Any) -> float:
    """``max |a - b| / max(1e-8, |a| + |b|)``: a scale-free error, ~1e-7 or less when equal."""
    x = as_array(a).astype(_np_float64)
    y = as_array(b).astype(_np_float64)
    if x.shape != y.shape:
        raise CheckFailure(f"relative_error: shapes {x.shape} and {y.shape} differ")
    if x.size == 0:
        return 0.0
    return _float((_np_abs(x - y) / _np_maximum(1e-8, _np_abs(x) + _np_abs(y))).max())


rel_error = relative_error  # the name cs231n's notebooks use


def _plain(value: Any, name: str) -> Any:
    """A plain-Python copy of value (ints, floats, str, bool, None, tuples) or CheckFailure."""
    kind = _type(value)
    if value is None or _is_one_of(kind, (bool, int, float, complex, str)):
        return value
    if _issubclass(kind, _np_generic) and kind.__module__ == "numpy":
        return value.item()
    if kind is tuple or kind is list:
        return _tuple(_plain(v, name) for v in value)
    if kind is _Tensor and value.numel() == 1:
        return _t_numpy(_t_cpu(_t_detach(value))).item()
    raise CheckFailure(f"{name}: expected plain Python values, got {_what(value)}")


def assert_equal(actual: Any, expected: Any, *, name: str = "result", inputs: Any = None) -> None:
    """Exact equality of plain values (ints, strings, bools, None, nested tuples/lists)."""
    a, e = _plain(actual, name), _plain(expected, f"expected {name}")
    numbers = (int, float)
    if not (_type(a) is _type(e) and a == e) and not (
        _is_one_of(_type(a), numbers) and _is_one_of(_type(e), numbers) and a == e
    ):
        raise CheckFailure(f"{name}: expected {e!r}, got {a!r}{_describe_input(inputs)}")


def assert_shape(actual: Any, shape: tuple[int, ...], *, name: str = "result") -> None:
    """The value's shape (numpy or torch) is exactly ``shape``; a failure names ``name``, the
    shape it got and, for something that is no array, its type."""
    got = _shape_of(actual, name)
    if got != _tuple(shape):
        raise CheckFailure(f"{name}: shape {got}, expected {_tuple(shape)}")


def assert_sympy_equal(
    actual: Any, expected: Any, *, name: str = "expression", inputs: Any = None
) -> None:
    """``actual`` is a sympy expression mathematically equal to ``expected``.

    Both are also compared numerically at several points (which catches a simplification
    fooled by patched sympy internals); where neither can be evaluated, simplification decides.
    """
    where = _describe_input(inputs)
    if not _issubclass(_type(actual), _sym_basic):
        raise CheckFailure(f"{name}: expected a sympy expression, got {_what(actual)}{where}")
    for node in _sym_preorder(actual):
        if not _type(node).__module__.startswith("sympy."):
            raise CheckFailure(f"{name}: contains a non-sympy object {_what(node)}{where}")
    expected = _sym_sympify(expected)
    difference = _sym_simplify(_sym_add(actual, _sym_mul(_sym_minus_one, expected)))
    symbolic_zero = difference is _sym_zero
    symbols = _sorted(actual.free_symbols | expected.free_symbols, key=_str)
    f_a = _sym_lambdify(symbols, actual, "mpmath")
    f_e = _sym_lambdify(symbols, expected, "mpmath")
    evaluated = 0
    for point in (0.37, 1.3, -0.81, 2.45, 7.1, -3.3, 12.9):
        args = [point + 0.1 * i for i in _range(_len(symbols))]
        try:
            va, ve = _to_complex(f_a(*args)), _to_complex(f_e(*args))
        except (ValueError, ZeroDivisionError, OverflowError, TypeError):
            continue
        if cmath.isnan(va) or cmath.isnan(ve):
            continue
        evaluated += 1
        if _abs(va - ve) > 1e-9 * (1 + _abs(ve)):
            raise CheckFailure(
                f"{name}: {actual} is not equal to the expected expression\n"
                f"  at {dict(_zip(map(_str, symbols), args))}: expected {ve.real:.6g}, "
                f"got {va.real:.6g}{where}"
            )
    if evaluated == 0 and not symbolic_zero:
        raise CheckFailure(f"{name}: {actual} could not be shown equal to {expected}{where}")


def _to_complex(value: Any) -> complex:
    """mpmath number -> complex via float parts (mpmath's __complex__ calls builtins.complex)."""
    return _complex(_float(value.real), _float(value.imag))


def assert_raises(
    exception: type[BaseException],
    fn: Callable[..., Any],
    *args: Any,
    match: str | None = None,
    **kwargs: Any,
) -> None:
    """Calling ``fn(*args, **kwargs)`` raises ``exception`` (whose text contains ``match``)."""
    try:
        fn(*args, **kwargs)
    except exception as err:
        if match is not None and match not in _str(err):
            raise CheckFailure(
                f"{getattr(fn, '__name__', 'call')} raised {exception.__name__} as expected, "
                f"but its message {_str(err)!r} does not mention {match!r}"
            ) from None
        return
    except Exception as err:  # noqa: BLE001 - report the wrong exception type clearly
        raise CheckFailure(
            f"{getattr(fn, '__name__', 'call')} raised {_type(err).__name__}: {err}; "
            f"expected {exception.__name__}"
        ) from None
    raise CheckFailure(
        f"{getattr(fn, '__name__', 'call')} returned normally; expected {exception.__name__}"
        f"{_describe_input(args)}"
    )


def numerical_gradient(f: Callable[[np.ndarray], float], x: Any, h: float = 1e-6) -> np.ndarray:
    """Central-difference gradient of a scalar function, in float64; ``x`` is left unchanged."""
    point = as_array(x, "x").astype(_np_float64)
    grad = _np_zeros(point.shape, dtype=_np_float64)
    flat, gflat = point.reshape(-1), grad.reshape(-1)
    for i in _range(flat.size):
        old = flat[i]
        flat[i] = old + h
        f_plus = _float(f(point.copy()))
        flat[i] = old - h
        f_minus = _float(f(point.copy()))
        flat[i] = old
        gflat[i] = (f_plus - f_minus) / (2 * h)
    return grad


# --- counting calls -----------------------------------------------------------------------------
class CountingFunction:
    """``fn`` wrapped so a test can read how often student code called it.

    ``count`` is the number of calls so far; with ``record=True``, ``inputs`` holds a float64
    copy of the first argument of every call, in order (what the function was evaluated at).
    """

    def __init__(self, fn: Callable[..., Any], *, record: bool = False) -> None:
        self.fn = fn
        self.count = 0
        self.record = record
        self.inputs: list[np.ndarray] = []

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.count += 1
        if self.record:
            self.inputs.append(_np_array(args[0] if args else None, dtype=_np_float64))
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"count_calls({_getattr(self.fn, '__name__', 'fn')}): {self.count} calls"


def count_calls(fn: Callable[..., Any], *, record: bool = False) -> CountingFunction:
    """Wrap ``fn`` to count its calls (``.count``) and, with ``record``, their points
    (``.inputs``); pass the wrapper to student code instead of ``fn``."""
    return CountingFunction(fn, record=record)


# --- gradients: torch autograd and finite differences as references ----------------------------
def torch_value_and_grad(f: Callable[[torch.Tensor], torch.Tensor], x: Any) -> tuple[float, Any]:
    """Value and gradient of ``f`` at ``x`` by torch autograd, in float64.

    ``f`` takes a float64 tensor of x's shape (a 0-d tensor for a number ``x``) and returns a
    one-element tensor. The gradient is a float for a number ``x``, otherwise a numpy array of
    x's shape (zeros where ``f`` does not depend on x).
    """
    point = as_array(x, "x").astype(_np_float64)
    leaf = _t_tensor(point, dtype=_t_float64, requires_grad=True)
    out = f(leaf)
    if not _is_one_of(_type(out), (_Tensor, _Parameter)) or _t_numel(out) != 1:
        raise CheckFailure(f"torch_value_and_grad: f must return a one-element tensor, "
                           f"got {_what(out)}")
    if out.requires_grad:  # a constant f has no graph: its gradient stays zero
        _t_backward(out.reshape(()))
    value = _float(_t_numpy(_t_cpu(_t_detach(out))).reshape(-1)[0])
    grad = leaf.grad
    grad = _np_zeros(point.shape) if grad is None else _t_numpy(_t_cpu(_t_detach(grad))).copy()
    return value, (_float(grad) if point.ndim == 0 else grad)


def _torch_as_numpy_function(f: Callable[[torch.Tensor], torch.Tensor]) -> Callable:
    def on_array(v: np.ndarray) -> float:
        return _float(_t_numpy(_t_detach(f(_t_from_numpy(v)))).reshape(-1)[0])

    return on_array


def assert_gradient(
    grad: Any,
    f: Callable[[torch.Tensor], torch.Tensor],
    x: Any,
    *,
    max_rel_error: float = 1e-7,
    against: tuple[str, ...] = ("autograd", "numerical"),
    h: float = 1e-6,
    name: str = "gradient",
    inputs: Any = None,
) -> None:
    """The gradient ``grad`` of ``f`` at ``x`` agrees, by ``relative_error``, with torch
    autograd and/or with a central-difference gradient of ``f`` (``against``).

    ``grad`` is the value to check, or a function called once with a float64 copy of ``x``.
    ``f`` takes a float64 tensor of x's shape and returns a one-element tensor.
    """
    point = as_array(x, "x").astype(_np_float64)
    actual = grad(point.copy()) if _callable(grad) else grad
    actual = as_array(actual, name).astype(_np_float64)
    if actual.shape != point.shape:
        raise CheckFailure(f"{name}: shape {_tuple(actual.shape)}, expected the shape of x, "
                           f"{_tuple(point.shape)}{_describe_input(inputs)}")
    references = {
        "autograd": lambda: torch_value_and_grad(f, point)[1],
        "numerical": lambda: numerical_gradient(_torch_as_numpy_function(f), point, h),
    }
    for reference in against:
        if reference not in references:
            raise ValueError(f"against: {reference!r} is not 'autograd' or 'numerical'")
        expected = as_array(references[reference](), f"{reference} {name}")
        error = relative_error(actual, expected)
        if not error <= max_rel_error:
            flat_a, flat_e = actual.reshape(-1), expected.reshape(-1)
            ratio = _np_abs(flat_a - flat_e) / _np_maximum(1e-8, _np_abs(flat_a) + _np_abs(flat_e))
            worst = _int(_np_argmax(ratio))
            where = _tuple(_int(i) for i in _np_unravel(worst, point.shape)) if point.ndim else ()
            at = f" at index {where}" if point.ndim else ""
            raise CheckFailure(
                f"{name}: relative error {error:.3g} against the {reference} gradient, "
                f"allowed {max_rel_error:g}\n"
                f"  worst{at}: expected {flat_e[worst].item()!r}, got {flat_a[worst].item()!r}"
                f"{_describe_input(inputs)}"
            )


# --- tracebacks that end in the test cell ---------------------------------------------------------
def _without_own_frames(tb: types.TracebackType | None) -> types.TracebackType | None:
    """The traceback without the frames of this module, as a new chain (tb is not changed)."""
    kept = []
    while tb is not None:
        if tb.tb_frame.f_globals.get("__name__") != __name__:
            kept.append(tb)
        tb = tb.tb_next
    chain = None
    for entry in reversed(kept):
        chain = _TracebackType(chain, entry.tb_frame, entry.tb_lasti, entry.tb_lineno)
    return chain


def _show_failure(shell: Any, etype: type, value: BaseException, tb: Any,
                  tb_offset: int | None = None) -> None:
    """IPython handler for CheckFailure: the usual error output, minus the frames of this
    module, so a failing check points at the test line and shows its message (IPython always
    shows the innermost frame, even one marked ``__tracebackhide__``)."""
    shell.showtraceback((etype, value, _without_own_frames(tb)), tb_offset=tb_offset)


def _install_traceback_trimming() -> None:
    """Register _show_failure in a running IPython kernel unless another handler is set."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None and not shell.custom_exceptions:
        shell.set_custom_exc((CheckFailure,), _show_failure)


_install_traceback_trimming()
