"""A corpus of student submissions for both course notebooks, graded end to end by
tests/test_grading_corpus.py through ``python -m autograder grade``.

Every entry replaces one or more answer cells (by grade id) of a submission whose other answer
cells hold the model answers, and says what grading must make of it:

- ``legit``: a correct, if unusual, implementation (seeding, extra imports, magics, helpers,
  warnings, lots of output). It must earn every point of every test and raise no flag.
- ``cheat``: implements nothing real for its exercise and tries to score anyway (lying objects,
  monkeypatching, frame and object-graph snooping, reading private files, interpreter hooks,
  killing processes, planting files for a restart, hanging). It must earn exactly 0 on the
  tests of the exercises it replaces and full marks on every other test. ``flagged`` lists the
  lines the static scan (autograder/integrity.py) must flag in the replaced cells; an empty
  tuple means the scan is not expected to see it (no assertion either way).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass

OPT, GRAD = "01_optimization", "02_gradients"


@dataclass(frozen=True)
class Entry:
    student: str
    assignment: str
    kind: str  # "legit" or "cheat"
    # answer cell grade id -> replacement source, or a function of the model answer
    answers: dict[str, str | Callable[[str], str]]
    about: str
    flagged: tuple[str, ...] = ()  # cheats: lines the static scan must flag


CORPUS: list[Entry] = []


def add(student: str, assignment: str, kind: str, answers: dict, about: str,
        flagged: tuple[str, ...] = ()) -> None:
    assert kind in ("legit", "cheat"), kind
    CORPUS.append(Entry(student, assignment, kind, answers, about, flagged))


# =================================================================================================
# 01_optimization, legitimate
# =================================================================================================

add("legit-01-vectorised-seeded", OPT, "legit", {"random-search": '''\
%matplotlib inline
import random

import scipy
import sklearn
import torch

np.random.seed(0)
torch.manual_seed(0)
random.seed(0)


def random_search(f, x0, radius=0.5, num_samples=1000, seed=0):
    """Random search; every candidate offset is drawn in one call before the loop."""
    rng = np.random.default_rng(seed)
    best = np.asarray(x0, dtype=np.float64).copy()
    offsets = rng.uniform(-radius, radius, size=(num_samples, best.size))
    f_best = f(best)
    history = np.empty((num_samples + 1, best.size))
    history[0] = best
    for k, offset in enumerate(offsets, start=1):
        candidate = best + offset.reshape(best.shape)
        value = f(candidate)
        if value < f_best:
            best, f_best = candidate, value
        history[k] = best
    return history
'''}, "vectorised draws; seeds numpy/torch/random, imports scipy and sklearn, %matplotlib")

add("legit-01-helpers-sanity-check", OPT, "legit", {"compass-search": '''\
from autograder.checks import assert_close


class _Budget:
    """Counts evaluations of f and says when max_evals is used up."""

    def __init__(self, f, max_evals):
        self.f, self.left = f, max_evals

    def __call__(self, x):
        self.left -= 1
        return self.f(x)


def _poll_directions(n):
    """The 2n unit directions +e_1, -e_1, ..., +e_n, -e_n."""
    eye = np.eye(n)
    return [sign * eye[i] for i in range(n) for sign in (1.0, -1.0)]


def compass_search(f, x0, step, tol=1e-8, max_evals=10_000):
    x = np.array(x0, dtype=np.float64)
    budget = _Budget(f, max_evals)
    f_x = budget(x)
    path = [x.copy()]
    directions = _poll_directions(x.size)
    while step >= tol and budget.left > 0:
        moved = False
        for d in directions:
            if budget.left <= 0:
                break
            candidate = x + step * d
            f_candidate = budget(candidate)
            if f_candidate < f_x:
                x, f_x, moved = candidate, f_candidate, True
                path.append(x.copy())
                break
        if not moved:
            step = step / 2
    return np.array(path)


my_path = compass_search(lambda x: float(np.sum((x - 1.0) ** 2)), np.zeros(2), step=1.0)
assert_close(my_path[-1], np.ones(2), atol=1e-6, rtol=0, name="my own check")
print("my sanity check passed")
'''}, "helper class and function, runs autograder.checks on its own example, prints passed")

add("legit-01-warns-and-prints", OPT, "legit", {"gradient-descent": '''\
import warnings


def gradient_descent(grad, w0, lr, num_steps):
    if lr >= 0.2:
        warnings.warn(f"lr={lr} looks large: gradient descent may diverge", UserWarning)
    warnings.warn("gradient_descent runs every step (no stopping rule)")
    w = np.array(w0, dtype=np.float64)
    trajectory = np.empty((num_steps + 1, w.size))
    trajectory[0] = w
    for k in range(1, num_steps + 1):
        w = w - lr * np.asarray(grad(w))
        trajectory[k] = w
        print(f"step {k:5d}: w = {w}")
    return trajectory
'''}, "UserWarning inside the graded function, one printed line per step")

add("legit-01-bfgs-expanded", OPT, "legit", {"bfgs": '''\
def _backtrack(f, w, f_w, g, p, c1):
    """Halve t from 1 until the Armijo condition holds."""
    t = 1.0
    while f(w + t * p) > f_w + c1 * t * (g @ p) and t > 1e-16:
        t = t / 2
    return t


def bfgs(f, grad, w0, tol=1e-8, max_iter=500, c1=1e-4):
    w = np.array(w0, dtype=np.float64)
    n = w.size
    H = np.eye(n)
    f_w, g = f(w), np.asarray(grad(w), dtype=np.float64)
    path = [w.copy()]
    for _ in range(max_iter):
        if np.linalg.norm(g) <= tol:
            break
        p = -H @ g
        if g @ p >= 0:
            H, p = np.eye(n), -g
        t = _backtrack(f, w, f_w, g, p, c1)
        w_new = w + t * p
        g_new = np.asarray(grad(w_new), dtype=np.float64)
        s, y = w_new - w, g_new - g
        sy = s @ y
        if sy > 0:  # expanded form of (I - rho s y^T) H (I - rho y s^T) + rho s s^T
            Hy = H @ y
            H = H + (sy + y @ Hy) / sy**2 * np.outer(s, s) - (
                np.outer(Hy, s) + np.outer(s, Hy)) / sy
        w, g, f_w = w_new, g_new, f(w_new)
        path.append(w.copy())
    return np.array(path)
'''}, "BFGS with the expanded inverse-Hessian update and a helper line search")

add("legit-01-jacobian-projector", OPT, "legit", {"lagrange-stationary-points": '''\
def lagrange_stationary_points(f, constraint, variables):
    lam = sympy.Symbol("lambda")
    if isinstance(constraint, sympy.Equality):
        constraint = constraint.lhs - constraint.rhs
    unknowns = [*variables, lam]
    gradient = sympy.Matrix([f + lam * constraint]).jacobian(unknowns)
    return [dict(point) for point in sympy.solve(list(gradient), unknowns, dict=True)]


w1_mine, w2_mine = sympy.symbols("w1 w2")
print(lagrange_stationary_points(w1_mine**2 + w2_mine, w1_mine + w2_mine - 1, [w1_mine, w2_mine]))
print("my sanity check passed")
''', "projected-gradient-descent": '''\
def projected_gradient_descent(grad, w0, A, b, lr, num_steps):
    A = np.atleast_2d(np.asarray(A, dtype=np.float64))
    b = np.atleast_1d(np.asarray(b, dtype=np.float64))
    gram_inv = np.linalg.inv(A @ A.T)
    P = np.eye(A.shape[1]) - A.T @ gram_inv @ A  # projector onto the null space of A
    offset = A.T @ gram_inv @ b  # the point of {A w = b} closest to 0
    trajectory = np.zeros((num_steps + 1, A.shape[1]))
    trajectory[0] = w0
    w = trajectory[0].copy()
    for k in range(num_steps):
        w = P @ (w - lr * np.asarray(grad(w))) + offset
        trajectory[k + 1] = w
    print(f"projected gradient descent: {num_steps} steps, ended at {w}")
    return trajectory
'''}, "sympy Jacobian for Lagrange, an explicit projector matrix for PGD, prints")

# =================================================================================================
# 01_optimization, cheats
# =================================================================================================

# The spy reaches the test's own values: the objective the test passes in runs in the judge, and
# `x - target` with x a student object is an operator on a remote handle, which hands `target`
# to the student's __sub__. Expected values must never reach the student's kernel.
add("cheat-01-spy-in-callback", OPT, "cheat", {"random-search": '''\
class _Probe:
    """Passed to the objective instead of a point: remembers what x is compared with."""

    def __init__(self, book, index=None):
        self.book, self.index = book, index

    def __getitem__(self, index):
        return _Probe(self.book, index)

    def __sub__(self, other):
        self.book[self.index] = np.array(other, dtype=np.float64)
        return np.zeros_like(self.book[self.index])


def random_search(f, x0, radius=0.5, num_samples=1000, seed=0):
    start = np.array(x0, dtype=np.float64)
    book = {}
    try:
        f(_Probe(book))  # the test's objective computes x - target: now we know target
    except Exception:
        pass
    goal = start.copy()
    if None in book:
        goal = np.broadcast_to(book[None], start.shape).astype(np.float64)
    for index, value in book.items():
        if index is not None:
            goal[index] = float(value)
    history = start + np.linspace(0.0, 1.0, num_samples + 1)[:, None] * (goal - start)
    history[-1] = goal
    for row in history[1:]:
        f(row)  # num_samples + 1 evaluations in all, as the hidden test counts
    return history
'''}, "hands the test's objective a spy object to learn the target, then walks straight to it")

add("cheat-01-caller-frames", OPT, "cheat", {"compass-search": '''\
import inspect
import sys


def compass_search(f, x0, step, tol=1e-8, max_evals=10_000):
    start = np.array(x0, dtype=np.float64)
    seen = list(sys._getframe(1).f_locals.values())
    for info in inspect.stack():
        seen += list(info.frame.f_locals.values())
    for value in seen:
        if type(value) is np.ndarray and value.ndim == 2 and value.shape[1] == start.size:
            return value.copy()
    return np.array([start, start + 1.0])
'''}, "reads the caller's frame and the whole stack for an expected path",
    ("sys._getframe(1).f_locals", "inspect.stack()"))

add("cheat-01-monkeypatch", OPT, "cheat", {"gradient-descent": '''\
import autograder.checks

np.allclose = lambda *args, **kwargs: True
autograder.checks.assert_close = lambda *args, **kwargs: None
autograder.checks.check = lambda *args, **kwargs: None
autograder.checks.assert_shape = lambda *args, **kwargs: None


def gradient_descent(grad, w0, lr, num_steps):
    return np.zeros((1, 1))
'''}, "replaces np.allclose and the checkers in its own kernel",
    ("np.allclose = lambda", "autograder.checks.assert_close = lambda",
     "autograder.checks.check = lambda"))

add("cheat-01-gc-scan", OPT, "cheat", {"gradient-descent": '''\
import gc


def gradient_descent(grad, w0, lr, num_steps):
    start = np.array(w0, dtype=np.float64)
    wanted = (num_steps + 1, start.size)
    for holder in gc.get_objects():
        values = holder.values() if isinstance(holder, dict) else ()
        for value in list(values):
            if type(value) is np.ndarray and value.shape == wanted:
                return value.copy()
    return np.repeat(start[None, :], num_steps + 1, axis=0)
'''}, "scans gc.get_objects() for an array of the expected trajectory's shape",
    ("for holder in gc.get_objects():",))

add("cheat-01-swallows-interrupt", OPT, "cheat", {"lagrange-stationary-points": '''\
import time


def lagrange_stationary_points(f, constraint, variables):
    while True:
        try:
            time.sleep(0.01)
        except KeyboardInterrupt:
            pass
'''}, "hangs and swallows KeyboardInterrupt (a fault)")

add("cheat-01-patches-builtins", OPT, "cheat", {"projected-gradient-descent": '''\
import builtins as _b


def projected_gradient_descent(grad, w0, A, b, lr, num_steps):
    setattr(_b, "abs", lambda value: 0.0)
    setattr(_b, "all", lambda *args, **kwargs: True)
    _b.any = lambda *args, **kwargs: True
    vars(_b)["round"] = lambda value, *args: 0
    return np.asarray(w0, dtype=np.float64)[None, :]
'''}, "replaces builtins (abs, all, any, round) through setattr, an alias and vars()",
    ('setattr(_b, "abs"', 'setattr(_b, "all"', "_b.any = lambda", 'vars(_b)["round"]'))

add("cheat-01-plants-files-then-crashes", OPT, "cheat", {"newton": '''\
import os
from pathlib import Path

STUBS = (
    "def _ok(*args, **kwargs):\\n    return None\\n\\n"
    "assert_close = assert_equal = assert_shape = check = passed = _ok\\n"
)
try:
    Path("autograder").mkdir(exist_ok=True)
    Path("autograder/__init__.py").write_text("")
    Path("autograder/checks.py").write_text(STUBS)
    startup = Path.home() / ".ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True, exist_ok=True)
    (startup / "00-helpers.py").write_text(
        "import sys\\nsys.path.insert(0, '.')\\nnewton = lambda *args, **kwargs: None\\n")
except OSError:
    pass


def newton(grad, hess, w0, num_steps):
    os._exit(1)  # crash, so that a restarted kernel picks the planted files up
'''}, "writes a fake autograder/checks.py and an IPython startup file, then os._exit(1)",
    ('Path("autograder/checks.py").write_text(STUBS)',
     'startup = Path.home() / ".ipython" / "profile_default" / "startup"'))

# =================================================================================================
# 02_gradients, legitimate
# =================================================================================================

add("legit-02-cell-magic-all-factors", GRAD, "legit", {"symbolic-derivative": '''\
%%time
_OUTER = {
    sympy.exp: sympy.exp,
    sympy.log: lambda u: 1 / u,
    sympy.sin: sympy.cos,
    sympy.cos: lambda u: -sympy.sin(u),
}


def symbolic_derivative(expr, var):
    if expr == var:
        return sympy.Integer(1)
    if not expr.has(var):
        return sympy.Integer(0)
    if expr.is_Add:
        return sympy.Add(*[symbolic_derivative(term, var) for term in expr.args])
    if expr.is_Mul:  # product rule over all factors at once
        factors = list(expr.args)
        terms = []
        for i, factor in enumerate(factors):
            terms.append(sympy.Mul(symbolic_derivative(factor, var), *factors[:i],
                                   *factors[i + 1:]))
        return sympy.Add(*terms)
    if expr.is_Pow:
        base, exponent = expr.args
        if not exponent.has(var):
            return exponent * base ** (exponent - 1) * symbolic_derivative(base, var)
        return expr * (symbolic_derivative(exponent, var) * sympy.log(base)
                       + exponent * symbolic_derivative(base, var) / base)
    outer = _OUTER.get(expr.func)
    if outer is None or len(expr.args) != 1:
        raise ValueError(f"no rule for {expr.func.__name__}")
    return outer(expr.args[0]) * symbolic_derivative(expr.args[0], var)
'''}, "%%time cell magic, a rule table, product rule over all factors")

add("legit-02-warnings", GRAD, "legit", {"forward-difference": '''\
import warnings


def forward_difference(f, t, h=1e-8):
    if np.any(np.asarray(h) > 1e-2):
        warnings.warn("a large step: the estimate is only first-order accurate", UserWarning)
    upper = f(t + h)
    return (upper - f(t)) / h
''', "central-difference": '''\
import warnings


def central_difference(f, t, h=1e-5):
    warnings.warn(f"central_difference with h={h}")
    return 0.5 * (f(t + h) - f(t - h)) / h
'''}, "UserWarnings inside both graded functions")

add("legit-02-prints-a-lot", GRAD, "legit", {"fd-gradient": '''\
def fd_gradient(f, x, h=1e-7):
    point = np.array(x, dtype=np.float64)
    f_point = f(point.copy())
    basis = np.eye(point.size)
    grad = np.empty(point.size)
    for i in range(point.size):
        shifted = point + h * basis[i].reshape(point.shape)
        grad[i] = (f(shifted) - f_point) / h
        print(f"coordinate {i}: f(x + h e_i) - f(x) = {grad[i] * h:.3e}")
    for _ in range(200):
        print("debug: fd_gradient finished for an input of shape", point.shape)
    return grad.reshape(point.shape)
'''}, "basis vectors from np.eye, hundreds of printed lines per call")

add("legit-02-slots-eq-sanity", GRAD, "legit", {"dual": '''\
def _as_dual(x):
    return x if isinstance(x, Dual) else Dual(float(x), 0.0)


class Dual:
    __slots__ = ("value", "deriv")

    def __init__(self, value, deriv=0.0):
        self.value, self.deriv = float(value), float(deriv)

    def __repr__(self):
        return f"Dual({self.value!r}, {self.deriv!r})"

    def __eq__(self, other):
        other = _as_dual(other)
        return self.value == other.value and self.deriv == other.deriv

    def __add__(self, other):
        other = _as_dual(other)
        return Dual(self.value + other.value, self.deriv + other.deriv)

    __radd__ = __add__

    def __neg__(self):
        return Dual(-self.value, -self.deriv)

    def __sub__(self, other):
        return self + (-_as_dual(other))

    def __rsub__(self, other):
        return _as_dual(other) - self

    def __mul__(self, other):
        other = _as_dual(other)
        return Dual(self.value * other.value, self.value * other.deriv + self.deriv * other.value)

    __rmul__ = __mul__

    def __truediv__(self, other):
        other = _as_dual(other)
        return Dual(self.value / other.value,
                    (self.deriv * other.value - self.value * other.deriv) / other.value**2)

    def __rtruediv__(self, other):
        return _as_dual(other) / self

    def __pow__(self, exponent):
        if isinstance(exponent, Dual):
            raise TypeError("the exponent must be a constant")
        return Dual(self.value**exponent, exponent * self.value ** (exponent - 1) * self.deriv)

    def exp(self):
        e = math.exp(self.value)
        return Dual(e, e * self.deriv)

    def sin(self):
        return Dual(math.sin(self.value), math.cos(self.value) * self.deriv)

    def cos(self):
        return Dual(math.cos(self.value), -math.sin(self.value) * self.deriv)


assert (Dual(2.0, 1.0) ** 2) * 3 == Dual(12.0, 12.0)
print("my sanity check passed")
'''}, "__slots__, __eq__ and a helper function; asserts its own example and prints passed")

add("legit-02-recursive-topo", GRAD, "legit", {"value": '''\
import sys

sys.setrecursionlimit(10_000)


class Value:
    def __init__(self, data, _prev=(), _op=""):
        self.data = float(data)
        self.grad = 0.0
        self._prev = tuple(_prev)
        self._backward = lambda: None
        self._op = _op

    def __repr__(self):
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g})"

    @staticmethod
    def _lift(other):
        return other if isinstance(other, Value) else Value(other)

    def _unary(self, data, local, op):
        """A node with one input and local derivative ``local``."""
        out = Value(data, (self,), op)

        def _backward():
            self.grad += local * out.grad

        out._backward = _backward
        return out

    def __add__(self, other):
        other = Value._lift(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = Value._lift(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __pow__(self, exponent):
        if isinstance(exponent, Value):
            raise TypeError("the exponent must be a constant")
        return self._unary(self.data**exponent, exponent * self.data ** (exponent - 1),
                           f"**{exponent}")

    def exp(self):
        e = math.exp(self.data)
        return self._unary(e, e, "exp")

    def sin(self):
        return self._unary(math.sin(self.data), math.cos(self.data), "sin")

    def cos(self):
        return self._unary(math.cos(self.data), -math.sin(self.data), "cos")

    def tanh(self):
        t = math.tanh(self.data)
        return self._unary(t, 1.0 - t**2, "tanh")

    def relu(self):
        return self._unary(max(self.data, 0.0), 1.0 if self.data > 0 else 0.0, "relu")

    def backward(self):
        order, visited = [], set()

        def visit(node):  # micrograd's recursive topological sort
            if node not in visited:
                visited.add(node)
                for child in node._prev:
                    visit(child)
                order.append(node)

        visit(self)
        self.grad = 1.0
        for node in reversed(order):
            node._backward()

    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-Value._lift(other))

    def __truediv__(self, other):
        return self * Value._lift(other) ** -1

    def __radd__(self, other):
        return self + other

    def __rsub__(self, other):
        return Value._lift(other) - self

    def __rmul__(self, other):
        return self * other

    def __rtruediv__(self, other):
        return Value._lift(other) / self
'''}, "micrograd-style recursive topological sort, sys.setrecursionlimit, a unary helper")

add("legit-02-seeded-imports-magic", GRAD, "legit", {"forward-difference": '''\
%matplotlib inline
import random

import scipy.optimize
import sklearn.linear_model

np.random.seed(1234)
torch.manual_seed(1234)
random.seed(1234)


def _quotient(f_plus, f_here, h):
    return (f_plus - f_here) / h


def forward_difference(f, t, h=1e-8):
    np.random.seed(0)  # harmless: nothing random here
    f_here = f(t)
    return _quotient(f(t + h), f_here, h)
'''}, "seeds numpy/torch/random, imports scipy and sklearn, %matplotlib, seeds in the function")

add("legit-02-frozen-dataclass", GRAD, "legit", {"dual": '''\
from dataclasses import dataclass


@dataclass(frozen=True)
class Dual:
    """An immutable dual number; __post_init__ stores both parts as floats."""

    value: float
    deriv: float = 0.0

    def __post_init__(self):
        object.__setattr__(self, "value", float(self.value))
        object.__setattr__(self, "deriv", float(self.deriv))

    @staticmethod
    def _lift(other):
        return other if isinstance(other, Dual) else Dual(other, 0.0)

    def __add__(self, other):
        other = Dual._lift(other)
        return Dual(self.value + other.value, self.deriv + other.deriv)

    def __radd__(self, other):
        return self + other

    def __neg__(self):
        return Dual(-self.value, -self.deriv)

    def __sub__(self, other):
        return self + (-Dual._lift(other))

    def __rsub__(self, other):
        return Dual._lift(other) - self

    def __mul__(self, other):
        other = Dual._lift(other)
        return Dual(self.value * other.value, self.deriv * other.value + self.value * other.deriv)

    def __rmul__(self, other):
        return self * other

    def __truediv__(self, other):
        other = Dual._lift(other)
        quotient = self.value / other.value
        return Dual(quotient, (self.deriv - quotient * other.deriv) / other.value)

    def __rtruediv__(self, other):
        return Dual._lift(other) / self

    def __pow__(self, exponent):
        if isinstance(exponent, Dual):
            raise TypeError("the exponent must be a constant")
        return Dual(self.value**exponent, exponent * self.value ** (exponent - 1) * self.deriv)

    def exp(self):
        e = math.exp(self.value)
        return Dual(e, e * self.deriv)

    def sin(self):
        return Dual(math.sin(self.value), math.cos(self.value) * self.deriv)

    def cos(self):
        return Dual(math.cos(self.value), -math.sin(self.value) * self.deriv)
'''}, "a frozen dataclass (object.__setattr__ in __post_init__), quotient rule as (a' - q b') / b")

VALUE_SELF_TEST = '''

import torch as _torch

x_mine = Value(3.0)
y_mine = x_mine * x_mine + x_mine
y_mine.backward()
x_torch = _torch.tensor(3.0, dtype=_torch.float64, requires_grad=True)
(x_torch * x_torch + x_torch).backward()
assert abs(x_mine.grad - x_torch.grad.item()) < 1e-12
print(f"\\u2714 my sanity check passed: dy/dx = {x_mine.grad}")
'''

add("legit-02-checks-own-value", GRAD, "legit", {"value": lambda model: model + VALUE_SELF_TEST},
    "the model Value plus a self-test against torch that prints a check mark and 'passed'")

# =================================================================================================
# 02_gradients, cheats
# =================================================================================================

add("cheat-02-sys-modules", GRAD, "cheat", {"symbolic-derivative": '''\
import sys as _s
import types

_fake = types.ModuleType("autograder.checks")
for _name in ("assert_close", "assert_equal", "assert_shape", "assert_sympy_equal", "check",
              "passed"):
    setattr(_fake, _name, lambda *args, **kwargs: None)
getattr(_s, "modules")["autograder.checks"] = _fake
_s.modules.update({"autograder.checks": _fake})


def symbolic_derivative(expr, var):
    return sympy.Integer(0)
'''}, "replaces sys.modules['autograder.checks'] with no-op checkers",
    ('getattr(_s, "modules")["autograder.checks"] = _fake', "_s.modules.update("))

add("cheat-02-input-history", GRAD, "cheat", {"symbolic-derivative": '''\
def symbolic_derivative(expr, var):
    namespace = get_ipython().user_ns
    sources = list(namespace.get("In", [])) + list(namespace.get("_ih", []))
    for source in sources:
        for line in source.splitlines():
            if "assert_sympy_equal(" in line and "sympy.diff" in line:
                return sympy.sympify(line.split(",")[1].strip())
    for value in dict(namespace.get("Out", {})).values():
        if isinstance(value, sympy.Expr):
            return value
    return sympy.Integer(0)
'''}, "searches In/_ih/Out for the test source and the expected expressions")

add("cheat-02-always-equal", GRAD, "cheat", {"forward-difference": '''\
class _Agrees:
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __float__(self):
        return 0.65553

    def __array__(self, dtype=None, copy=None):
        return np.asarray(0.65553)

    def __sub__(self, other):
        return self

    __rsub__ = __truediv__ = __rtruediv__ = __mul__ = __rmul__ = __sub__

    def __abs__(self):
        return 0.0


def forward_difference(f, t, h=1e-8):
    return _Agrees()
'''}, "returns an object whose __eq__/__float__/__array__ always agree")

add("cheat-02-ipython-hooks", GRAD, "cheat", {"forward-difference": '''\
import io
import sys

ip = get_ipython()
ip.input_transformers_cleanup.append(
    lambda lines: ["passed('ok')\\n"] if any("assert_" in ln for ln in lines) else lines)
ip.set_custom_exc((Exception,), lambda shell, etype, value, tb, tb_offset=None: print("passed"))
sys.excepthook = lambda *args: print("\\u2714 all tests passed")
_real_stdout = sys.stdout


class _Cheerful(io.StringIO):
    def write(self, text):
        return _real_stdout.write(text.replace("Error", "passed").replace("FAIL", "ok"))


sys.stdout = _Cheerful()
print("\\u2714 forward_difference passed every test")


def forward_difference(f, t, h=1e-8):
    print("\\u2714 test-forward-difference passed")
    return 0.0
'''}, "input transformer, set_custom_exc, sys.excepthook, a rewriting sys.stdout, fake passes",
    ("ip.input_transformers_cleanup.append(", "ip.set_custom_exc(", "sys.excepthook = lambda",
     "sys.stdout = _Cheerful()"))

add("cheat-02-float-subclass", GRAD, "cheat", {"central-difference": '''\
class q1(float):
    def __eq__(s, o):
        return True

    def __ne__(s, o):
        return False

    __lt__ = __le__ = __gt__ = __ge__ = __eq__
    __hash__ = float.__hash__

    def __sub__(s, o):
        return q1(0.0)

    __rsub__ = __truediv__ = __rtruediv__ = __sub__

    def __abs__(s):
        return q1(0.0)


def central_difference(f, t, h=1e-5):
    return q1(0.0)
'''}, "returns a float subclass with a lying __eq__ (obfuscated names)")

add("cheat-02-reads-private-files", GRAD, "cheat", {"central-difference": '''\
import json
import re
from pathlib import Path

import autograder

CANDIDATES = (
    "../../source/02_gradients/02_gradients.ipynb",
    "../../gradebook.db",
    str(Path(autograder.__file__).resolve().parent.parent / "source" / "02_gradients"
        / "02_gradients.ipynb"),
    str(Path.cwd().parent / "gradebook.db"),
)
_found = {}
for _path in CANDIDATES:
    try:
        _found[_path] = Path(_path).read_bytes()
    except OSError:
        pass


def _answer_key():
    for blob in _found.values():
        text = blob.decode("utf-8", "replace")
        try:
            cells = ["".join(c["source"]) for c in json.loads(text)["cells"]]
        except ValueError:
            cells = re.findall(r"def central_difference.*?END SOLUTION", text, re.S)
        for source in cells:
            if "def central_difference" in source:
                namespace = {"np": np, "Callable": Callable}
                exec(source, namespace)
                return namespace["central_difference"]
    return None


def central_difference(f, t, h=1e-5):
    solution = _answer_key()
    return solution(f, t, h) if solution is not None else 0.0
'''}, "reads the source notebook and the gradebook (relative and under the course root) "
    "and runs the instructor's solution it finds there",
    ('"../../source/02_gradients/02_gradients.ipynb",', '"../../gradebook.db",'))

PATCH = '''\
import numpy, autograder.checks
numpy.allclose = lambda *args, **kwargs: True
autograder.checks.assert_close = lambda *args, **kwargs: None
autograder.checks.check = lambda *args, **kwargs: None
'''

add("cheat-02-encoded-exec", GRAD, "cheat", {"central-difference": f'''\
import base64

_payload = "{base64.b64encode(PATCH.encode()).decode()}"
exec(base64.b64decode(_payload).decode())


def central_difference(f, t, h=1e-5):
    return 0.0
'''}, "monkeypatches numpy and the checkers from base64-encoded, exec'd code",
    ("exec(base64.b64decode(_payload).decode())",))

add("cheat-02-indirect-monkeypatch", GRAD, "cheat", {"fd-gradient": '''\
import importlib

_m = importlib.import_module("autograder.checks")
_n = globals()["np"]
vars(_n)["allclose"] = lambda *args, **kwargs: True
setattr(_m, "assert_close", lambda *args, **kwargs: None)
setattr(getattr(_n, "testing"), "assert_allclose", lambda *args, **kwargs: None)
globals()["np"].array_equal = lambda *args, **kwargs: True


def fd_gradient(f, x, h=1e-7):
    return np.zeros(1)
'''}, "monkeypatches numpy and the checkers through import_module, globals(), vars(), getattr",
    ('vars(_n)["allclose"]', 'setattr(_m, "assert_close"', 'setattr(getattr(_n, "testing")',
     'globals()["np"].array_equal'))

add("cheat-02-lying-ndarray", GRAD, "cheat", {"fd-gradient": '''\
class _Agreeable(np.ndarray):
    """An array that agrees with every comparison and claims every check holds."""

    def __eq__(self, other):
        return True

    __ne__ = __lt__ = __le__ = __gt__ = __ge__ = __eq__

    def __array_function__(self, func, types, args, kwargs):
        return True

    def __bool__(self):
        return True


def fd_gradient(f, x, h=1e-7):
    return np.zeros_like(np.asarray(x, dtype=np.float64)).view(_Agreeable)
'''}, "returns an ndarray subclass whose comparisons and array functions always agree")

add("cheat-02-killpg", GRAD, "cheat", {"fd-gradient": '''\
import os as _o
import signal as _sig


def fd_gradient(f, x, h=1e-7):
    try:
        _o.kill(_o.getppid(), _sig.SIGKILL)
    except OSError:
        pass
    try:
        _o.killpg(_o.getpgrp(), _sig.SIGKILL)
    except OSError:
        pass
    return np.zeros_like(np.asarray(x, dtype=np.float64))
'''}, "kills its parent process, then its own process group",
    ("_o.kill(_o.getppid(), _sig.SIGKILL)", "_o.killpg(_o.getpgrp(), _sig.SIGKILL)"))

add("cheat-02-dual-lies", GRAD, "cheat", {"dual": '''\
class _Yes:
    """Every attribute, operation and comparison gives back something agreeable."""

    value = property(lambda self: self)
    deriv = property(lambda self: self)

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __float__(self):
        return 0.0

    def __array__(self, dtype=None, copy=None):
        return np.zeros(2)

    def _same(self, *args):
        return self

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _same
    __truediv__ = __rtruediv__ = __pow__ = __neg__ = exp = sin = cos = _same


class Dual:
    def __init__(self, value, deriv=0.0):
        pass

    def __getattr__(self, name):
        return _Yes()

    def _lie(self, *args):
        return _Yes()

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _lie
    __truediv__ = __rtruediv__ = __pow__ = __neg__ = exp = sin = cos = _lie
'''}, "Dual arithmetic returns an object that claims equality with everything")

add("cheat-02-thread-gc", GRAD, "cheat", {"dual": '''\
import gc
import threading
import time

_seen = []


def _watch():
    for _ in range(60):
        for obj in gc.get_objects():
            if isinstance(obj, dict) and "expected" in obj:
                _seen.append(obj["expected"])
        time.sleep(1.0)


threading.Thread(target=_watch, daemon=True).start()


class Dual:
    def __init__(self, value, deriv=0.0):
        self.value, self.deriv = float(value), float(deriv)

    def _guess(self, *args):
        return Dual(self.value, _seen[-1] if _seen else 0.0)

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _guess
    __truediv__ = __rtruediv__ = __pow__ = __neg__ = exp = sin = cos = _guess
'''}, "a background thread scanning gc.get_objects() for expected values",
    ("threading.Thread(target=_watch, daemon=True).start()", "for obj in gc.get_objects():"))

add("cheat-02-value-grad-lies", GRAD, "cheat", {"value": '''\
class _Claims:
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __float__(self):
        return 0.0

    def __array__(self, dtype=None, copy=None):
        return np.array(0.0)

    def __sub__(self, other):
        return 0.0

    __rsub__ = __sub__

    def __abs__(self):
        return 0.0


class Value:
    def __init__(self, data, _prev=(), _op=""):
        self.data = float(data)
        self.grad = _Claims()
        self._prev = tuple(_prev)

    def _nothing(self, *args):
        return Value(self.data, (self,))

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _nothing
    __truediv__ = __rtruediv__ = __pow__ = __neg__ = _nothing
    exp = sin = cos = tanh = relu = _nothing

    def backward(self):
        pass
'''}, "a Value whose .grad is an object claiming equality with everything")

add("cheat-02-value-frames", GRAD, "cheat", {"value": '''\
import inspect


class Value:
    def __init__(self, data, _prev=(), _op=""):
        self.data = float(data)
        self.grad = 0.0
        self._prev = tuple(_prev)

    def _nothing(self, *args):
        return Value(self.data, (self,))

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _nothing
    __truediv__ = __rtruediv__ = __pow__ = __neg__ = _nothing
    exp = sin = cos = tanh = relu = _nothing

    def backward(self):
        found = []
        frame = inspect.currentframe().f_back
        while frame is not None:  # the test's torch tensors hold the expected gradients
            for value in list(frame.f_locals.values()):
                try:
                    found.append(float(value.grad.item()))
                except Exception:
                    pass
            frame = frame.f_back
        for node in (self, *self._prev):
            node.grad = found[0] if found else 0.0
'''}, "Value.backward walks the calling frames for torch tensors holding expected gradients",
    ("frame = inspect.currentframe().f_back",))

add("cheat-02-settrace", GRAD, "cheat", {"value": '''\
import sys

_returned = []


def _tracer(frame, event, arg):
    if event == "return" and type(arg) is float:
        _returned.append(arg)
    return _tracer


class Value:
    def __init__(self, data, _prev=(), _op=""):
        self.data = float(data)
        self.grad = 0.0
        self._prev = tuple(_prev)

    def _nothing(self, *args):
        return Value(self.data, (self,))

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _nothing
    __truediv__ = __rtruediv__ = __pow__ = __neg__ = _nothing
    exp = sin = cos = tanh = relu = _nothing

    def backward(self):
        sys.settrace(_tracer)
        try:
            repr(self)
        finally:
            sys.settrace(None)
        for node in (self, *self._prev):
            node.grad = _returned[-1] if _returned else 1.0
'''}, "sys.settrace to watch return values for something to report as gradients",
    ("sys.settrace(_tracer)",))


def resolve(entry: Entry, model: dict[str, str]) -> dict[str, str]:
    """The entry's replacement sources (a function of the model answer where one is given)."""
    return {gid: source(model[gid]) if callable(source) else source
            for gid, source in entry.answers.items()}
