"""Known-wrong answers for source/07_clip/07_clip.ipynb: one plausible student bug per graded
code cell (``autograder.mutants.Mutant``), plus a second for the loss and the training loop.
Each must fail at least one test of its own exercise; when the solution it patches changes,
the test says so and the mutant must be updated. The manually graded answer has no mutant."""

from autograder.mutants import Mutant

MUTANTS = [
    Mutant("clip-loss", "only the image-to-text direction (rows), not the columns",
           "return (image_to_text + text_to_image) / 2", "return image_to_text"),
    Mutant("clip-loss", "forgets the cap: the scale grows beyond 100",
           "scale = logit_scale.exp().clamp(max=100.0)", "scale = logit_scale.exp()"),
    Mutant("make-prompts", "templates outer, classes inner",
           "return [[template.replace(\"{}\", name) for template in templates] for name in names]",
           "return [[template.replace(\"{}\", name) for name in names] for template in templates]"),
    Mutant("zero-shot-classifier", "averages the raw sentence embeddings (long ones outvote)",
           "text = text / text.norm(dim=1, keepdim=True)  # each sentence counts the same",
           "text = text"),
    Mutant("zero-shot-predict", "forgets to normalise the image embeddings",
           "image = image_features / image_features.norm(dim=1, keepdim=True)",
           "image = image_features"),
    Mutant("train-clip", "never clamps the temperature",
           "t.clamp_(max=math.log(100.0))", "pass"),
    Mutant("train-clip", "pairs each image with a shuffled caption",
           "text = F.normalize(model[\"text\"](tokens[idx]), dim=1)",
           "text = F.normalize(model[\"text\"](tokens[idx.flip(0)]), dim=1)"),
]
