"""Known-wrong answers for source/02_gradients/02_gradients.ipynb: one plausible student bug per
graded code cell, each a small replacement in the model answer (``autograder.mutants.Mutant``).
Each must fail at least one test of its own exercise; when the solution it patches changes, the
test says so and the mutant must be updated. The manually graded answer has no mutant."""

from autograder.mutants import Mutant

MUTANTS = [
    Mutant("symbolic-derivative", "forgets the chain-rule factor u'",
           "return outer_derivative(u) * symbolic_derivative(u, var)",
           "return outer_derivative(u)"),
    Mutant("forward-difference", "a backward difference (f(t) - f(t - h)) / h",
           "return (f(t + h) - f(t)) / h", "return (f(t) - f(t - h)) / h"),
    Mutant("central-difference", "divides by h instead of 2h",
           "/ (2 * h)", "/ h"),
    Mutant("fd-gradient", "evaluates f(x) again for every coordinate (2n evaluations)",
           "(f(point.copy()) - f_x) / h", "(f(point.copy()) - f(x)) / h"),
    Mutant("dual", "the product rule multiplies the derivative parts (a' b')",
           "self.deriv * other.value + self.value * other.deriv", "self.deriv * other.deriv"),
    Mutant("value", "_backward of + overwrites gradients instead of adding to them",
           "            self.grad += out.grad\n            other.grad += out.grad",
           "            self.grad = out.grad\n            other.grad = out.grad"),
]
