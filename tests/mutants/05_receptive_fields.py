"""Known-wrong answers for source/05_receptive_fields/05_receptive_fields.ipynb: one plausible
student bug per graded code cell, each a small replacement in the model answer
(``autograder.mutants.Mutant``). Each must fail at least one test of its own exercise; when the
solution it patches changes, the test says so and the mutant must be updated. The manually
graded answer has no mutant."""

from autograder.mutants import Mutant

MUTANTS = [
    Mutant("receptive-field", "ignores dilation (adds k - 1 instead of d (k - 1))",
           "size += d * (kernel - 1) * stride", "size += (kernel - 1) * stride"),
    Mutant("empirical-receptive-field",
           "measures in training mode (batch normalisation mixes every pixel)",
           "    model.eval()\n    try:", "    try:"),
    Mutant("accuracy-by-size", "counts background pixels as well",
           "on_object = truth > 0", "on_object = truth >= 0"),
]
