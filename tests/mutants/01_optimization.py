"""Known-wrong answers for source/01_optimization/01_optimization.ipynb: one plausible student
bug per graded code cell, each a small replacement in the model answer
(``autograder.mutants.Mutant``). Each must fail at least one test of its own exercise; when the
solution it patches changes, the test says so and the mutant must be updated."""

from autograder.mutants import Mutant

MUTANTS = [
    Mutant("random-search", "samples around x0 instead of the best point so far",
           "candidate = best + rng.uniform",
           "candidate = np.array(x0, dtype=np.float64) + rng.uniform"),
    Mutant("compass-search", "never halves its step",
           "step = step / 2", "step = step"),
    Mutant("gradient-descent", "steps along +grad (gradient ascent)",
           "w = w - lr * grad(w)", "w = w + lr * grad(w)"),
    Mutant("newton", "multiplies the gradient by the Hessian instead of solving with it",
           "np.linalg.solve(hess(w), grad(w))", "hess(w) @ grad(w)"),
    Mutant("bfgs", "swaps s and y in the inverse-Hessian update",
           "s, y = w_new - w, g_new - g", "y, s = w_new - w, g_new - g"),
    Mutant("lagrange-stationary-points", "forgets the constraint equation dL/dlambda = 0",
           "equations = [sympy.diff(lagrangian, u) for u in unknowns]",
           "equations = [sympy.diff(lagrangian, u) for u in variables]"),
    Mutant("lagrange-stationary-points", "uses the other sign convention, f - lambda * h",
           "lagrangian = f + multiplier * constraint", "lagrangian = f - multiplier * constraint"),
    Mutant("projected-gradient-descent", "projects onto A w = 0, ignoring b",
           "A @ z - b)", "A @ z)"),
    Mutant("max-stable-lr", "returns 1 / a_max instead of 2 / a_max",
           "return float(2.0 / eigenvalues.max())", "return float(1.0 / eigenvalues.max())"),
]
