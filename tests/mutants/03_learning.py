"""Known-wrong answers for source/03_learning/03_learning.ipynb: one plausible student bug per
graded code cell, each a small replacement in the model answer (``autograder.mutants.Mutant``).
Each must fail at least one test of its own exercise; when the solution it patches changes, the
test says so and the mutant must be updated. The manually graded answer has no mutant."""

from autograder.mutants import Mutant

MUTANTS = [
    Mutant("neuron", "applies the activation before adding the bias",
           "return ACTIVATIONS[self.activation](pre_activation)",
           "return ACTIVATIONS[self.activation](pre_activation - self.bias) + self.bias"),
    Mutant("mlp", "applies the activation after the last layer too",
           "            if l < last:\n                h = self.activation(h)",
           "            h = self.activation(h)"),
    Mutant("train-epoch", "never zeroes the gradients, so they add up over the batches",
           "optimizer.zero_grad()  # forget the previous batch's gradients",
           "pass  # forget the previous batch's gradients"),
    Mutant("train-epoch", "returns the unweighted mean of the batch losses",
           "loss_sum += batch_loss.item() * len(idx)\n    return loss_sum / n",
           "loss_sum += batch_loss.item()\n    return loss_sum / math.ceil(n / batch_size)"),
    Mutant("kmeans", "an empty cluster's centroid jumps to the origin",
           "torch.where(counts[:, None] > 0, sums / counts.clamp(min=1)[:, None], C)",
           "sums / counts.clamp(min=1)[:, None]"),
    Mutant("autoencoder", "the decoder has no final sigmoid",
           "nn.Linear(hidden, in_features), nn.Sigmoid())",
           "nn.Linear(hidden, in_features))"),
    Mutant("autoencoder", "training_step never zeroes the gradients",
           "        self.zero_grad()  # gradients of an earlier step must not add up with these\n",
           ""),
]
