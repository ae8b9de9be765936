"""A tiny CLIP for the shapes world (07_clip trains and uses it; 09_vlm builds on it).

TinyCLIP pairs a small CNN image encoder with a small Transformer text encoder over a word
vocabulary of the shapes world's captions; both end in projections into one joint space of
EMBED_DIM dimensions, compared by cosine similarity times a learnable temperature (the logit
scale, initialised to log(1/0.07) and capped at 100 as in the CLIP paper). The image encoder
also returns its feature map projected into the joint space (one embedding per 4 x 4 pixel
patch), which 09 compares with text to detect and segment by prompt.

Training never sees the pairs in HELD_OUT_PAIRS together (each of their colours and shapes
does appear, in other pairs), so zero-shot accuracy on them measures composition.

The committed weights (cvcourse/weights/tiny_clip.pt) come from one command,

    python -m cvcourse.clip            # seed 0, a few minutes on 2 CPU cores

which also writes tiny_clip.json beside them: the command, seed, SHA-256, held-out accuracy.
``load_tiny_clip()`` checks the file against that SHA-256.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import time
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from cvcourse.data import COLOURS, PAIRS, SHAPES, ShapesBatch, shapes
from cvcourse.runtime import progress
from cvcourse.train import accuracy, file_sha256, load_or_train

WEIGHTS = Path(__file__).resolve().parent / "weights" / "tiny_clip.pt"
RECORD = WEIGHTS.with_suffix(".json")
COMMAND = "python -m cvcourse.clip"

IMAGE_SIZE = 32
EMBED_DIM = 64
MAX_TOKENS = 16  # the longest training caption (three objects, longest template) has 15
LOGIT_SCALE_INIT = math.log(1 / 0.07)  # the CLIP paper's initial temperature 0.07
LOGIT_SCALE_MAX = math.log(100.0)  # ... and its cap: logits are never scaled by more than 100

# one pair per colour, every shape twice: never drawn together in training
HELD_OUT_PAIRS = (("red", "triangle"), ("green", "circle"), ("blue", "square"),
                  ("yellow", "triangle"), ("magenta", "circle"), ("cyan", "square"))

# Training captions are the shapes world's captions inside one of these (like alt texts on
# the web, which say the same thing in many ways); "{}" is "a red circle and a blue square".
CAPTION_TEMPLATES = ("{}", "{}.", "a photo of {}.", "an image of {}.", "a picture of {}.",
                     "a drawing of {}.", "there is {}.", "a photo showing {}.")

# how often an object is named in full, by its colour only, by its shape only
WORDING = (0.6, 0.2, 0.2)

PAD, UNK = "<pad>", "<unk>"
_EXTRA_WORDS = ("a", "an", "and", "of", "the", "photo", "image", "picture", "drawing",
                "there", "is", "showing", "this", "shape", "object", "small", "big", "dark",
                "background", "with", "on")
VOCAB = (PAD, UNK, ",", ".", *COLOURS, *SHAPES, *_EXTRA_WORDS)
_WORD_INDEX = {word: i for i, word in enumerate(VOCAB)}
_TOKEN = re.compile(r"[a-z]+|[,.]")


def words(text: str) -> list[str]:
    """Lower-case words and the punctuation ``,`` and ``.`` of ``text``, in order."""
    return _TOKEN.findall(text.lower())


def tokenize(texts: Sequence[str], length: int = MAX_TOKENS,
             device: torch.device | str | None = None) -> torch.Tensor:
    """Token ids (N, length) int64 of N texts: VOCAB indices, unknown words -> 1 (UNK),
    padded with 0 (PAD) on the right; longer texts are cut to ``length`` tokens."""
    ids = torch.zeros(len(texts), length, dtype=torch.int64)
    for row, text in enumerate(texts):
        found = [_WORD_INDEX.get(w, 1) for w in words(text)][:length]
        ids[row, :len(found)] = torch.tensor(found, dtype=torch.int64)
    return ids.to(device)


class ImageEncoder(nn.Module):
    """Two streams over images (N, 3, 32, 32), added into one feature map (N, width, 8, 8), a
    vector per 4 x 4 pixel patch:

    - shape: a small CNN on the brightest channel of each pixel (x.max over RGB), an image in
      which every object looks alike whatever its colour (receptive field 15 pixels);
    - colour: two 1 x 1 convolutions, which see one pixel's colour each, and the strongest
      response in each patch (max pooling) between them.

    Trained on twelve pairs, a plain CNN learns "red" as "a red circle or a red square" and
    never recognises a red triangle; colour and shape kept apart until the sum, they compose.
    """

    def __init__(self, width: int = 64):
        super().__init__()
        self.shape = nn.Sequential(
            nn.Conv2d(1, 32, 3, stride=2, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
            nn.Conv2d(32, 48, 3, stride=2, padding=1), nn.BatchNorm2d(48), nn.ReLU(),
            nn.Conv2d(48, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU())
        self.colour = nn.Sequential(
            nn.Conv2d(3, 32, 1), nn.ReLU(), nn.MaxPool2d(4), nn.Conv2d(32, width, 1), nn.ReLU())

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        brightness = images.amax(dim=1, keepdim=True)
        return self.shape(brightness) + self.colour(images)


class TextEncoder(nn.Module):
    """A bag of words: the mean of the word embeddings of the real (non-padding) tokens,
    token ids (N, L) -> (N, width). Word order is lost ("a red circle and a blue square" reads
    as "a blue circle and a red square"), but the embedding of "a red triangle" is built from
    "red" and "triangle" alone, so a pair never seen together still gets a sensible one."""

    def __init__(self, width: int = 64, vocab_size: int = len(VOCAB)):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, width, padding_idx=0)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        keep = (tokens != 0).unsqueeze(-1).to(self.embedding.weight.dtype)  # (N, L, 1)
        return (self.embedding(tokens) * keep).sum(1) / keep.sum(1).clamp(min=1)


class TinyCLIP(nn.Module):
    """The tiny CLIP: ``encode_image``, ``encode_text``, ``image_feature_map`` (all in the joint
    space, not normalised) and ``forward(images, tokens)`` -> logits (N_images, N_texts),
    the scaled cosine similarities. 54,929 parameters (0.23 MB as float32)."""

    def __init__(self, embed_dim: int = EMBED_DIM, width: int = 64):
        super().__init__()
        self.image_encoder = ImageEncoder(width)
        self.text_encoder = TextEncoder(width)
        self.image_projection = nn.Conv2d(width, embed_dim, 1)  # per patch: dense features
        self.text_projection = nn.Linear(width, embed_dim)
        self.logit_scale = nn.Parameter(torch.tensor(LOGIT_SCALE_INIT))

    def image_feature_map(self, images: torch.Tensor) -> torch.Tensor:
        """Patch embeddings in the joint space: (N, 3, 32, 32) -> (N, embed_dim, 8, 8)."""
        return self.image_projection(self.image_encoder(images))

    def encode_image(self, images: torch.Tensor) -> torch.Tensor:
        """Image embeddings (N, embed_dim): the mean of the patch embeddings."""
        return self.image_feature_map(images).mean(dim=(2, 3))

    def encode_text(self, tokens: torch.Tensor) -> torch.Tensor:
        """Text embeddings (N, embed_dim) of token ids (N, L) from ``tokenize``."""
        return self.text_projection(self.text_encoder(tokens))

    def scale(self) -> torch.Tensor:
        """exp(logit_scale), capped at 100."""
        return self.logit_scale.clamp(max=LOGIT_SCALE_MAX).exp()

    def forward(self, images: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        image = F.normalize(self.encode_image(images), dim=-1)
        text = F.normalize(self.encode_text(tokens), dim=-1)
        return self.scale() * image @ text.T


class _Tower(nn.Module):
    """An encoder followed by its projection; for images, the mean over the patches."""

    def __init__(self, encoder: nn.Module, projection: nn.Module, pool: bool):
        super().__init__()
        self.encoder, self.projection, self.pool = encoder, projection, pool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.projection(self.encoder(x))
        return y.mean(dim=(2, 3)) if self.pool else y


def as_module_dict(model: TinyCLIP) -> nn.ModuleDict:
    """The same model (shared parameters, nothing copied) in the form 07's ``train_clip``
    takes: "image" (images -> [N, D]), "text" (tokens -> [N, D]) and "scale" (a ParameterDict
    holding "logit_scale")."""
    return nn.ModuleDict({
        "image": _Tower(model.image_encoder, model.image_projection, pool=True),
        "text": _Tower(model.text_encoder, model.text_projection, pool=False),
        "scale": nn.ParameterDict({"logit_scale": model.logit_scale})})


def _symmetric_cross_entropy(logits: torch.Tensor) -> torch.Tensor:
    """The contrastive objective on a square logits matrix whose diagonal holds the pairs."""
    target = torch.arange(len(logits), device=logits.device)
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2


def training_captions(data: ShapesBatch, generator: torch.Generator) -> list[str]:
    """Captions of ``data``'s images as alt texts might word them: each object named in full
    ("a red circle") or, a fifth of the time each, by its colour only ("a red shape") or its
    shape only ("a circle"); the whole inside a template of CAPTION_TEMPLATES. Drawn from
    ``generator``. Partial names push the image encoder to see colour and shape apart."""
    n, slots = data.shape_labels.shape
    wording = torch.multinomial(torch.tensor(WORDING), n * slots, replacement=True,
                                generator=generator).view(n, slots).tolist()
    picks = torch.randint(len(CAPTION_TEMPLATES), (n,), generator=generator).tolist()
    colours, kinds = data.colour_labels.tolist(), data.shape_labels.tolist()
    captions = []
    for i, count in enumerate(data.num_objects.tolist()):
        phrases = [(f"a {COLOURS[colours[i][k]]} {SHAPES[kinds[i][k]]}",
                    f"a {COLOURS[colours[i][k]]} shape", f"a {SHAPES[kinds[i][k]]}")[wording[i][k]]
                   for k in range(count)]
        listed = phrases[0] if count == 1 else ", ".join(phrases[:-1]) + " and " + phrases[-1]
        captions.append(CAPTION_TEMPLATES[picks[i]].format(listed))
    return captions


def train_tiny_clip(seed: int = 0, num_images: int = 4000, epochs: int = 15,
                    batch_size: int = 128, lr: float = 2e-3,
                    device: torch.device | str = "cpu") -> TinyCLIP:
    """Train a TinyCLIP from scratch on shapes-world images with up to three objects and their
    templated captions, never showing HELD_OUT_PAIRS; deterministic for a given ``seed`` (on the
    same device and thread count). Returns the model in eval mode, on the CPU."""
    torch.manual_seed(seed)
    model = TinyCLIP().to(device)
    data = shapes(num_images, IMAGE_SIZE, seed=seed, max_objects=3,
                  exclude_pairs=HELD_OUT_PAIRS)
    generator = torch.Generator().manual_seed(seed)
    steps = epochs * (num_images // batch_size)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, lr, total_steps=steps,
                                                   pct_start=0.1)
    model.train()
    bar = progress(range(epochs), desc="training the tiny CLIP", total=epochs)
    for _ in bar:
        tokens = tokenize(training_captions(data, generator))  # new wording each epoch
        order = torch.randperm(num_images, generator=generator)
        for start in range(0, num_images - batch_size + 1, batch_size):
            idx = order[start:start + batch_size]
            logits = model(data.images[idx].to(device), tokens[idx].to(device))
            loss = _symmetric_cross_entropy(logits)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            with torch.no_grad():
                model.logit_scale.clamp_(max=LOGIT_SCALE_MAX)
    return model.cpu().eval()


@torch.no_grad()
def held_out_accuracy(model: TinyCLIP, n: int = 600, seed: int = 1,
                      templates: Sequence[str] = ("a photo of a {}.",)) -> float:
    """Zero-shot accuracy on n single-object images of HELD_OUT_PAIRS, choosing among all 18
    pairs (chance 1/18), with class embeddings averaged over ``templates``."""
    device = next(model.parameters()).device
    data = shapes(n, IMAGE_SIZE, seed=seed, max_objects=1, only_pairs=HELD_OUT_PAIRS,
                  device=device)
    names = [f"{colour} {shape}" for colour, shape in PAIRS]
    classes = torch.zeros(len(names), EMBED_DIM, device=device)
    for template in templates:
        text = model.encode_text(tokenize([template.format(c) for c in names], device=device))
        classes += F.normalize(text, dim=-1)
    scores = F.normalize(model.encode_image(data.images), dim=-1) @ classes.T
    truth = data.colour_labels[:, 0] * len(SHAPES) + data.shape_labels[:, 0]
    return accuracy(scores, truth)


def recorded(path: str | Path = RECORD) -> dict:
    """What tiny_clip.json says about the committed weights (command, seed, sha256, ...)."""
    return json.loads(Path(path).read_text())


def load_tiny_clip(path: str | Path = WEIGHTS, *, sha256: str | None = None,
                   device: torch.device | str | None = None) -> TinyCLIP:
    """The committed tiny CLIP, in eval mode on ``device``; the file must have the SHA-256
    recorded beside it (tiny_clip.json) or ``sha256``. A missing or different file raises an
    error whose one line says what to run."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run `{COMMAND}` (a few minutes on a CPU) "
                                "to train the tiny CLIP and write it")
    if sha256 is None:
        record = path.with_suffix(".json")
        sha256 = recorded(record)["sha256"] if record.is_file() else None

    def refuse_to_train(model: nn.Module) -> None:  # not reached: the file exists
        raise FileNotFoundError(f"{path} is missing: run `{COMMAND}`")

    model = load_or_train(TinyCLIP(), path, refuse_to_train, sha256=sha256,
                          how_to_retrain=f"run `{COMMAND}` to retrain it")
    return model.eval().to(device)


def save(model: TinyCLIP, path: str | Path, record: dict) -> dict:
    """Write the state dict (CPU tensors) to ``path`` and ``record`` plus its SHA-256 to the
    JSON file beside it; returns the full record."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, path)
    record = {**record, "sha256": file_sha256(path), "bytes": path.stat().st_size}
    path.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
    return record


def main(argv: Sequence[str] | None = None) -> dict:
    """``python -m cvcourse.clip [--seed S] [--out PATH]``: train, save, record, print."""
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=WEIGHTS, help="weights file (.pt)")
    parser.add_argument("--num-images", type=int, default=4000, help="training images")
    parser.add_argument("--epochs", type=int, default=15)
    args = parser.parse_args(argv)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # reproducible, and faster than two threads on a shared machine
    try:
        start = time.perf_counter()
        model = train_tiny_clip(seed=args.seed, num_images=args.num_images, epochs=args.epochs)
        seconds = time.perf_counter() - start
    finally:
        torch.set_num_threads(threads)
    options = [f"--seed {args.seed}" if args.seed else "",
               f"--num-images {args.num_images}" if args.num_images != 4000 else "",
               f"--epochs {args.epochs}" if args.epochs != 15 else ""]
    command = " ".join([COMMAND, *filter(None, options)])
    record = save(model, args.out, {
        "command": command, "seed": args.seed, "torch": torch.__version__,
        "threads": 1, "train_seconds": round(seconds, 1),
        "parameters": sum(p.numel() for p in model.parameters()),
        "held_out_pairs": [" ".join(p) for p in HELD_OUT_PAIRS],
        "held_out_accuracy": round(held_out_accuracy(model), 4),
        "chance": round(1 / len(PAIRS), 4)})
    print(json.dumps(record, indent=2))
    return record


if __name__ == "__main__":
    main()
