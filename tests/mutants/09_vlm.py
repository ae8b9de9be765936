"""Known-wrong answers for source/09_vlm/09_vlm.ipynb: one plausible student bug per graded
code cell (``autograder.mutants.Mutant``), plus a second where two mistakes are likely. Each
must fail at least one test of its own exercise; when the solution it patches changes, the test
says so and the mutant must be updated. The manually graded answer has no mutant."""

from autograder.mutants import Mutant

MUTANTS = [
    Mutant("random-masking", "keeps the tokens of largest noise",
           "ids_shuffle = torch.argsort(noise, dim=1)  # ascending: small noise is kept",
           "ids_shuffle = torch.argsort(noise, dim=1, descending=True)"),
    Mutant("random-masking", "returns the mask in the shuffled order",
           "mask = torch.gather(mask, 1, ids_restore)  # back to the original order",
           "mask = mask"),
    Mutant("masked-patch-loss", "averages over every patch, visible ones too",
           "return (per_patch * mask).sum() / mask.sum()", "return per_patch.mean()"),
    Mutant("masked-patch-loss", "sums the squared error over a patch's values",
           "per_patch = ((pred - target) ** 2).mean(dim=-1)",
           "per_patch = ((pred - target) ** 2).sum(dim=-1)"),
    Mutant("window-partition", "reshapes without the permute (strips, not windows)",
           "return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, M, M, C)",
           "return x.reshape(-1, M, M, C)"),
    Mutant("window-reverse", "reshapes without the permute",
           "return x.permute(0, 1, 3, 2, 4, 5).reshape(B, H, W, C)",
           "return x.reshape(B, H, W, C)"),
    Mutant("shifted-window-mask", "cuts the region ids into rows instead of windows",
           "windows = ids.reshape(H // M, M, W // M, M).permute(0, 2, 1, 3).reshape(-1, M * M)",
           "windows = ids.reshape(-1, M * M)"),
    Mutant("region-word-scores", "forgets to normalise the patch embeddings",
           "patches = F.normalize(patch_features, dim=1)", "patches = patch_features"),
    Mutant("detect-by-prompt", "scores a box by the mean instead of the maximum",
           "scores.append(float(values[labels == component].max()))",
           "scores.append(float(values[labels == component].mean()))"),
    Mutant("detect-by-prompt", "joins diagonal neighbours (8-connectivity)",
           "labels, count = ndimage.label((values > threshold).numpy())",
           "labels, count = ndimage.label((values > threshold).numpy(),"
           " structure=np.ones((3, 3)))"),
    Mutant("segment-by-prompts", "a score equal to the threshold is not background",
           "torch.where(best > threshold, which + 1,",
           "torch.where(best >= threshold, which + 1,"),
    Mutant("segment-by-prompts", "forgets that label 0 is the background",
           "which + 1, torch.zeros_like(which)", "which, torch.zeros_like(which)"),
]
