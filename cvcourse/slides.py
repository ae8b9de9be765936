"""The lectures' example functions, defined once for the notebooks, their demonstrations and
their tests: the gradients lecture's f(t) = exp(t/2) sin(t/3)^2 and the optimisation lecture's
non-convex surface, each with its exact derivative (sympy is the reference)."""

from __future__ import annotations

import math

import numpy as np
import sympy

T = sympy.Symbol("t")
X, Y = sympy.symbols("x y")

# the gradients lecture: one variable, derivative by the product and chain rules
GRADIENTS_EXPR = sympy.exp(T / 2) * sympy.sin(T / 3) ** 2
# the optimisation lecture: a surface with many local minima in the window SURFACE_BOX
SURFACE_EXPR = -sympy.cos((X - sympy.Rational(1, 10)) * Y) ** 2 - X * sympy.sin(3 * X + Y)
SURFACE_BOX = ((-2.5, 2.5), (-2.5, 2.5))

_surface = sympy.lambdify((X, Y), SURFACE_EXPR, "numpy")
_surface_gradient = sympy.lambdify((X, Y), [sympy.diff(SURFACE_EXPR, v) for v in (X, Y)],
                                   "numpy")


def gradients_f(t: float) -> float:
    """f(t) = exp(t/2) sin(t/3)^2 at a float t (the gradients lecture's running example)."""
    return math.exp(t / 2) * math.sin(t / 3) ** 2


def gradients_df(t: float) -> float:
    """f'(t) = 1/2 exp(t/2) sin(t/3)^2 + 2/3 exp(t/2) sin(t/3) cos(t/3), the slide's formula."""
    return (0.5 * math.exp(t / 2) * math.sin(t / 3) ** 2
            + 2 / 3 * math.exp(t / 2) * math.sin(t / 3) * math.cos(t / 3))


def surface(x: np.ndarray | float, y: np.ndarray | float) -> np.ndarray | float:
    """The optimisation lecture's surface, vectorised over numpy arrays (for grids)."""
    return _surface(x, y)


def surface_f(w: np.ndarray) -> float:
    """The surface at a point w of shape [2]."""
    return float(_surface(w[0], w[1]))


def surface_grad(w: np.ndarray) -> np.ndarray:
    """Its gradient at w, shape [2], float64."""
    return np.array(_surface_gradient(w[0], w[1]), dtype=np.float64)
