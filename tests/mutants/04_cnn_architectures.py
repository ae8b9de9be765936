"""Known-wrong answers for source/04_cnn_architectures/04_cnn_architectures.ipynb: one plausible
student bug per graded code cell, each a small replacement in the model answer
(``autograder.mutants.Mutant``), plus the library shortcuts of Sections 1 to 3 (PyTorch's own
convolution, im2col and pooling), which the tests must refuse as well. Each must fail at least one
test of its own exercise; when the solution it patches changes, the test says so and the mutant
must be updated. The manually graded answers have no mutant."""

from autograder.mutants import Mutant

MUTANTS = [
    Mutant("conv2d-naive", "ignores the stride when it cuts the window",
           "patch = padded[:, :, i * s_h:i * s_h + k_h, j * s_w:j * s_w + k_w]",
           "patch = padded[:, :, i:i + k_h, j:j + k_w]"),
    Mutant("conv2d-naive", "the shortcut: returns PyTorch's conv2d",
           "(s_h, s_w), (p_h, p_w) = pair(stride), pair(padding)",
           "return F.conv2d(x, weight, bias, stride, padding)"),
    Mutant("conv2d-im2col", "orders the rows of the columns by kernel offset, then channel",
           "cols = torch.stack(shifted, dim=2)", "cols = torch.stack(shifted, dim=1)"),
    Mutant("conv2d-im2col", "the shortcut: builds the columns with F.unfold",
           "cols = torch.stack(shifted, dim=2).reshape(N, C_in * k_h * k_w, H_out * W_out)",
           "cols = F.unfold(x, (k_h, k_w), padding=(p_h, p_w), stride=(s_h, s_w))"),
    Mutant("max-pool2d", "pads with zeros, which win over negative values",
           "lowest, dtype=x.dtype", "0, dtype=x.dtype"),
    Mutant("max-pool2d", "the shortcut: returns PyTorch's max_pool2d",
           "(k_h, k_w) = pair(kernel_size)",
           "return F.max_pool2d(x, kernel_size, stride, padding)"),
    Mutant("vgg16", "only two convolutions in the fifth block",
           '                  512, 512, 512, "M"):', '                  512, 512, "M"):'),
    Mutant("basic-block", "applies the ReLU before adding the shortcut",
           "return self.relu(out + shortcut)", "return self.relu(out) + shortcut"),
    Mutant("resnet18", "layer2 keeps the resolution (stride 1)",
           '("layer2", stage(64, 128, stride=2))', '("layer2", stage(64, 128, stride=1))'),
    Mutant("layer-gradient-norms", "ignores the shortcut (always the plain network)",
           "h = h + block(h) if residual else block(h)", "h = block(h)"),
    Mutant("dense-block", "leaves the block input out of the output",
           "return torch.cat(features, dim=1)", "return torch.cat(features[1:], dim=1)"),
    Mutant("inception-module", "concatenates the pooling branch before the 5x5 branch",
           "(self.branch1, self.branch2, self.branch3, self.branch4)",
           "(self.branch1, self.branch2, self.branch4, self.branch3)"),
]
