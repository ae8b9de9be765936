"""Known-wrong answers for source/06_attention_vit/06_attention_vit.ipynb: one plausible student
bug per graded code cell, each a small replacement in the model answer
(``autograder.mutants.Mutant``), plus the library shortcuts the exercises forbid (PyTorch's own
attention, its patch cutter F.unfold), which the tests must refuse as well. Each must fail at
least one test of its own exercise; when the solution it patches changes, the test says so and
the mutant must be updated. The manually graded answer has no mutant."""

from autograder.mutants import Mutant

MUTANTS = [
    Mutant("scaled-dot-product-attention", "scales the scores by 1 / d_k instead of 1 / sqrt(d_k)",
           "scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale",
           "scale = 1.0 / q.shape[-1] if scale is None else scale"),
    Mutant("scaled-dot-product-attention", "a softmax without the shift (overflows to nan)",
           "shifted = scores - scores.amax(dim=-1, keepdim=True)", "shifted = scores"),
    Mutant("scaled-dot-product-attention",
           "the shortcut: the output from F.scaled_dot_product_attention",
           "return weights @ v, weights",
           "return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=scale), weights"),
    Mutant("multi-head-attention", "splits the heads without the transpose (mixes positions)",
           ".reshape(N, x.shape[1], self.num_heads, self.head_dim).transpose(1, 2)",
           ".reshape(N, self.num_heads, x.shape[1], self.head_dim)"),
    Mutant("multi-head-attention", "the shortcut: PyTorch's attention instead of the given one",
           "output, _ = attention(q, k, v, mask)",
           "output = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)"),
    Mutant("sinusoidal-positional-encoding", "sine and cosine swapped",
           "pe[:, 0::2] = torch.sin(angles)\n    pe[:, 1::2] = torch.cos(angles)",
           "pe[:, 0::2] = torch.cos(angles)\n    pe[:, 1::2] = torch.sin(angles)"),
    Mutant("sinusoidal-positional-encoding", "exponent i / E instead of 2 i / E",
           "torch.arange(0, dim, 2,", "torch.arange(0, dim // 2,"),
    Mutant("patchify", "flattens each patch as row, column, channel",
           "grid.permute(0, 2, 4, 1, 3, 5)", "grid.permute(0, 2, 4, 3, 5, 1)"),
    Mutant("patchify", "the shortcut: F.unfold (floats only)",
           "grid = images.reshape(N, C, H // p, p, W // p, p)",
           "return F.unfold(images, p, stride=p).transpose(1, 2)"),
    Mutant("vision-transformer", "the class token at the end instead of position 0",
           "torch.cat([class_tokens, patches], dim=1)",
           "torch.cat([patches, class_tokens], dim=1)"),
    Mutant("vision-transformer", "forgets the position embedding",
           "dim=1) + self.position_embedding", "dim=1)"),
    Mutant("stratified-subset", "takes the first members of each class (no random draw)",
           "members[torch.randperm(len(members), generator=draws)[:wanted]]",
           "members[:wanted]"),
]
