"""The course's offline data: a synthetic shapes world (boxes, masks, captions), scikit-learn's
handwritten digits and scikit-image's shipped photographs. Nothing is ever downloaded."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable
from dataclasses import dataclass, fields

import numpy as np
import torch

SHAPES = ("circle", "square", "triangle")
# The six corners of the RGB cube besides black and white: as far apart as colours can be.
COLOURS = ("red", "green", "blue", "yellow", "magenta", "cyan")
COLOUR_RGB = {
    "red": (1.0, 0.0, 0.0),
    "green": (0.0, 1.0, 0.0),
    "blue": (0.0, 0.0, 1.0),
    "yellow": (1.0, 1.0, 0.0),
    "magenta": (1.0, 0.0, 1.0),
    "cyan": (0.0, 1.0, 1.0),
}
# Every (colour, shape) pair, in the order pair_index numbers them.
PAIRS = tuple(itertools.product(COLOURS, SHAPES))

_PLACEMENT_TRIES = 20  # random positions tried per object before it is left out
_GAP = 1  # free pixels between objects, so that no two instances touch
_CHUNK = 256  # images drawn at once


@dataclass
class ShapesBatch:
    """N images of the shapes world and everything known about them (K = max_objects).

    images:          (N, 3, H, W) float32 in [0, 1]
    boxes:           (N, K, 4) float32, (x, y, w, h) in pixels as on the slides: (x, y) is the
                     top-left corner, the box is the tight bounding box of the instance mask
                     (w == h: every object fills a square box); rows of absent objects are 0
    shape_labels:    (N, K) int64 index into SHAPES, -1 where no object
    colour_labels:   (N, K) int64 index into COLOURS, -1 where no object
    num_objects:     (N,) int64; present objects fill slots 0 .. num_objects - 1
    instance_masks:  (N, H, W) int64, 0 = background, k + 1 = the object in slot k
    semantic_masks:  (N, H, W) int64, 0 = background, 1 + shape label
    captions:        N strings naming the objects in slot order, e.g. "a red circle"
    """

    images: torch.Tensor
    boxes: torch.Tensor
    shape_labels: torch.Tensor
    colour_labels: torch.Tensor
    num_objects: torch.Tensor
    instance_masks: torch.Tensor
    semantic_masks: torch.Tensor
    captions: list[str]

    def __len__(self) -> int:
        return len(self.captions)

    def to(self, device: torch.device | str) -> ShapesBatch:
        """The same batch with every tensor on ``device``."""
        moved = {f.name: getattr(self, f.name) for f in fields(self)}
        return ShapesBatch(**{name: value.to(device) if torch.is_tensor(value) else value
                              for name, value in moved.items()})


def pair_index(colour: str, shape: str) -> int:
    """Position of the pair (colour, shape) in PAIRS, e.g. ``pair_index("red", "circle") == 0``."""
    return PAIRS.index(_check_pair((colour, shape)))


def caption(objects: Iterable[tuple[str, str]]) -> str:
    """English for a list of (colour, shape): "a red circle, a blue square and a green triangle"."""
    return _join_phrases([f"a {colour} {shape}" for colour, shape in objects])


def _join_phrases(phrases: list[str]) -> str:
    """Join phrases as English lists do: "x", "x and y", "x, y and z"."""
    if len(phrases) <= 1:
        return "".join(phrases)
    return ", ".join(phrases[:-1]) + " and " + phrases[-1]


def shapes(n: int, size: int = 32, *, seed: int = 0, max_objects: int = 3,
           scale: float | tuple[float, float] = (0.2, 0.4), noise: float = 0.03,
           exclude_pairs: Iterable[tuple[str, str] | str] | None = None,
           only_pairs: Iterable[tuple[str, str] | str] | None = None,
           device: torch.device | str | None = None) -> ShapesBatch:
    """Draw ``n`` images of size x size pixels of coloured shapes on a dark, lightly noisy
    background (introduced in 03_learning; detection and segmentation use it in 08).

    Each image holds between 1 and ``max_objects`` non-overlapping objects (``max_objects=1``:
    exactly one, for classification and box regression); an object that finds no free place in
    a crowded image is left out. ``scale`` is the object's side as a fraction of ``size`` (one
    number, or a (low, high) range sampled uniformly); every object fills an s x s box. Pairs
    are (colour, shape) tuples or strings such as "red circle": ``exclude_pairs`` never appear,
    and with ``only_pairs`` nothing else does. The same arguments give identical tensors; the
    global random state is neither used nor changed. Built on the CPU, then moved to ``device``.
    """
    if n < 0 or size < 4 or max_objects < 1:
        raise ValueError(f"need n >= 0, size >= 4 and max_objects >= 1, got {n}, {size}, "
                         f"{max_objects}")
    allowed = _allowed_pairs(exclude_pairs, only_pairs)
    low, high = (scale, scale) if isinstance(scale, int | float) else scale
    side_low, side_high = max(3, round(low * size)), round(high * size)
    if not 3 <= side_low <= side_high <= size:
        raise ValueError(f"scale {scale} gives objects of {side_low}..{side_high} pixels, "
                         f"which must lie within 3..{size}")
    generator = torch.Generator().manual_seed(seed)
    boxes, shape_labels, colour_labels, present = _sample_layout(
        n, size, max_objects, side_low, side_high, allowed, generator)
    background = 0.1 + 0.2 * torch.rand(n, 1, 1, 1, generator=generator)
    if noise > 0:  # grey grain, one value for all three channels: a third of the cost
        grain = noise * torch.randn(n, 1, size, size, generator=generator)
        background = (background + grain).clamp_(0, 1)
    images, instance_masks, semantic_masks = _draw(
        boxes, shape_labels, colour_labels, present, background, size, side_low, side_high)
    phrases = [f"a {colour} {shape}" for colour, shape in PAIRS]
    pair_labels = torch.where(present, colour_labels * len(SHAPES) + shape_labels, -1)
    captions = [_join_phrases([phrases[p] for p in row if p >= 0])
                for row in pair_labels.tolist()]
    batch = ShapesBatch(images, boxes, shape_labels, colour_labels, present.sum(1),
                        instance_masks, semantic_masks, captions)
    return batch if device is None else batch.to(device)


def _check_pair(pair: tuple[str, str] | str) -> tuple[str, str]:
    colour, shape = pair.split() if isinstance(pair, str) else pair
    if colour not in COLOURS or shape not in SHAPES:
        raise ValueError(f"unknown pair {pair!r}: colours are {', '.join(COLOURS)}; "
                         f"shapes are {', '.join(SHAPES)}")
    return colour, shape


def _allowed_pairs(exclude, only) -> torch.Tensor:
    """Indices into PAIRS that may be drawn, as an int64 tensor."""
    wanted = set(PAIRS) if only is None else {_check_pair(p) for p in only}
    wanted -= {_check_pair(p) for p in exclude or ()}
    if not wanted:
        raise ValueError("exclude_pairs / only_pairs leave no (colour, shape) pair to draw")
    return torch.tensor(sorted(PAIRS.index(p) for p in wanted))


def _sample_layout(n, size, max_objects, side_low, side_high, allowed, generator):
    """Where each object goes: boxes (n, K, 4), shape and colour labels (n, K), presence (n, K).

    Objects are placed one slot at a time: each tries _PLACEMENT_TRIES positions and takes the
    first one that keeps a _GAP from the objects already placed (vectorised over images).
    """
    wanted = torch.randint(1, max_objects + 1, (n,), generator=generator)
    boxes = torch.zeros(n, max_objects, 4)
    present = torch.zeros(n, max_objects, dtype=torch.bool)
    pairs = allowed[torch.randint(len(allowed), (n, max_objects), generator=generator)]
    for slot in range(max_objects):
        side = torch.randint(side_low, side_high + 1, (n, 1), generator=generator).float()
        # top-left corners with the whole object inside the image: 0 .. size - side
        corner = (torch.rand(n, _PLACEMENT_TRIES, 2, generator=generator)
                  * (size - side + 1).unsqueeze(-1)).floor()
        x, y = corner[..., 0:1], corner[..., 1:2]  # (n, tries, 1) against (n, 1, slot)
        px, py, pw, ph = (boxes[:, None, :slot, i] for i in range(4))
        clash = ((x < px + pw + _GAP) & (px < x + side[..., None] + _GAP)
                 & (y < py + ph + _GAP) & (py < y + side[..., None] + _GAP)
                 & present[:, None, :slot])
        free = ~clash.any(-1)  # (n, tries)
        first_free = free.int().argmax(1)
        placed = free.any(1) & (slot < wanted)
        chosen = corner[torch.arange(n), first_free]
        boxes[:, slot] = torch.where(placed[:, None], torch.cat([chosen, side, side], 1), 0)
        present[:, slot] = placed
    # move the present objects to the front slots, keeping their order
    order = (~present).int().argsort(dim=1, stable=True)
    present = present.gather(1, order)
    boxes = boxes.gather(1, order[..., None].expand(-1, -1, 4))
    pairs = pairs.gather(1, order)
    shape_labels = torch.where(present, pairs % len(SHAPES), -1)
    colour_labels = torch.where(present, pairs // len(SHAPES), -1)
    return boxes, shape_labels, colour_labels, present


def _templates(side_low: int, side_high: int) -> torch.Tensor:
    """Every object as a stamp: (len(SHAPES), sides, S, S) int64, 1 inside the object of that
    shape and side (side_low + index), S = side_high.

    A pixel belongs to an object when its centre lies inside the shape: a disc, the full
    square, or an upright triangle whose base is the bottom edge and whose apex touches the top.
    """
    side = torch.arange(side_low, side_high + 1, dtype=torch.float32)[:, None, None]
    u = torch.arange(side_high, dtype=torch.float32) + 0.5  # pixel centres, left to right
    v = u[:, None]  # and top to bottom
    half = side / 2
    square = (u <= side) & (v <= side)
    disc = (u - half) ** 2 + (v - half) ** 2 <= half**2
    # the half-pixel slack keeps the apex row non-empty, so the box stays tight
    triangle = square & ((u - half).abs() <= v / 2 + 0.5)
    return torch.stack([disc, square, triangle]).long()  # in the order of SHAPES


def _draw(boxes, shape_labels, colour_labels, present, background, size, side_low, side_high):
    """Stamp every object at its box: images (N, 3, H, W) over ``background`` (N, 1, H, W),
    instance masks (k + 1 on the pixels of slot k) and semantic masks (1 + shape label).

    Work per object is side_high^2 pixels, not H * W, which is what makes the generator fast;
    images go _CHUNK at a time so that the temporaries stay small (allocating them dominated).
    """
    n = len(boxes)
    images = torch.zeros(n, 3, size, size)
    instance_masks = torch.zeros(n, size, size, dtype=torch.int64)
    semantic_masks = torch.zeros(n, size, size, dtype=torch.int64)
    stamps = _templates(side_low, side_high)
    for start in range(0, n, _CHUNK):
        part = slice(start, start + _CHUNK)
        _stamp(images[part], instance_masks[part], semantic_masks[part], boxes[part],
               shape_labels[part], colour_labels[part], present[part], stamps, side_low)
        # objects keep their exact colour: the background is added where there is none
        images[part] += background[part] * (instance_masks[part] == 0)[:, None]
    return images, instance_masks, semantic_masks


def _stamp(images, instance_masks, semantic_masks, boxes, shape_labels, colour_labels, present,
           stamps, side_low):
    """Add each slot's stamp into the (contiguous) output tensors, in place.

    Stamps are side_high wide; the part beyond a smaller object holds zeros, so it may spill
    over neighbours or be clamped onto the image's last row/column: adding 0 changes nothing.
    """
    n, size = len(boxes), images.shape[-1]
    plane, side_high = size * size, stamps.shape[-1]
    offsets = torch.arange(side_high)
    image = torch.arange(n)[:, None, None]
    palette = torch.tensor([COLOUR_RGB[c] for c in COLOURS])
    for slot in range(boxes.shape[1]):
        x, y, side = boxes[:, slot, :3].long().unbind(1)
        shape = shape_labels[:, slot].clamp(min=0)
        stamp = stamps[shape, (side - side_low).clamp(min=0)] * present[:, slot, None, None]
        rows = (y[:, None, None] + offsets[:, None]).clamp(max=size - 1)
        cols = (x[:, None, None] + offsets).clamp(max=size - 1)
        # positions in the flattened tensors: index_add_ there is several times faster than
        # index_put_ on the CPU; an image spans one plane of a mask and three of the images
        in_mask = (image * plane + rows * size + cols).flatten()
        instance_masks.view(-1).index_add_(0, in_mask, (stamp * (slot + 1)).flatten())
        semantic_class = shape[:, None, None] + 1
        semantic_masks.view(-1).index_add_(0, in_mask, (stamp * semantic_class).flatten())
        in_images = in_mask + (2 * plane * image).expand_as(stamp).flatten()
        rgb = palette[colour_labels[:, slot].clamp(min=0)]  # (N, 3)
        for channel in range(3):
            images.view(-1).index_add_(0, in_images + channel * plane,
                                       (stamp * rgb[:, channel, None, None]).flatten())


# --- scikit-learn's handwritten digits -------------------------------------------------------
DIGITS_TEST_SIZE = 360  # of 1,797 images: 1,437 for training, 360 for testing, stratified


@functools.cache
def _raw_digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits  # imported here: sklearn is slow to import

    bunch = load_digits()
    return bunch.images, bunch.target


def digits(split: str = "train", *, seed: int = 0,
           device: torch.device | str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Real handwriting (introduced in 03_learning): ``X`` (N, 1, 8, 8) float32 in [0, 1] and
    ``y`` (N,) int64 digit labels, for ``split`` "train" (N = 1,437) or "test" (N = 360).

    The split is stratified by digit and fixed by ``seed`` (scikit-learn's train_test_split),
    so train and test never share an image and every notebook sees the same split.
    """
    from sklearn.model_selection import train_test_split

    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    images, labels = _raw_digits()
    train_idx, test_idx = train_test_split(np.arange(len(labels)), test_size=DIGITS_TEST_SIZE,
                                           stratify=labels, random_state=seed)
    idx = train_idx if split == "train" else test_idx
    X = torch.from_numpy(images[idx] / 16.0).float().unsqueeze(1)  # pixel values are 0..16
    y = torch.from_numpy(labels[idx]).long()
    return X.to(device), y.to(device)


# --- scikit-image's shipped photographs ------------------------------------------------------
# Only images inside the scikit-image wheel (skimage/data/): others are fetched from the
# internet on first use, which the course never does. Name -> file in skimage.data.data_dir.
PHOTOS = {
    "astronaut": "astronaut.png",
    "brick": "brick.png",
    "camera": "camera.png",
    "cell": "cell.png",
    "chelsea": "chelsea.png",
    "clock": "clock_motion.png",
    "coffee": "coffee.png",
    "coins": "coins.png",
    "colorwheel": "color.png",
    "grass": "grass.png",
    "gravel": "gravel.png",
    "horse": "horse.png",
    "hubble_deep_field": "hubble_deep_field.jpg",
    "immunohistochemistry": "ihc.png",
    "moon": "moon.png",
    "page": "page.png",
    "retina": "retina.jpg",
    "rocket": "rocket.jpg",
    "text": "text.png",
}


def photo(name: str, device: torch.device | str | None = None) -> torch.Tensor:
    """A photograph shipped with scikit-image, e.g. "chelsea" (the cat), as (C, H, W) float32
    in [0, 1]: C = 3 for colour photographs, 1 for grey ones. Names: PHOTOS."""
    if name not in PHOTOS:
        raise ValueError(f"unknown photo {name!r}; available: {', '.join(PHOTOS)}")
    import skimage.data
    from skimage.util import img_as_float32

    pixels = img_as_float32(getattr(skimage.data, name)())
    image = torch.from_numpy(np.ascontiguousarray(pixels))
    image = image.unsqueeze(0) if image.ndim == 2 else image.permute(2, 0, 1)
    return image.contiguous().to(device)
