"""Does the offline data hold what it promises: a shapes world whose boxes, masks, labels and
captions agree with its pixels, the digits split as documented, and photographs that ship
inside scikit-image (loaded with the network cut)?"""

from __future__ import annotations

import collections
import math
import re
import socket
from pathlib import Path

import numpy as np
import pytest
import skimage.data
import torch
from sklearn.datasets import load_digits

from cvcourse.data import (
    COLOUR_RGB,
    COLOURS,
    DIGITS_TEST_SIZE,
    PAIRS,
    PHOTOS,
    SHAPES,
    caption,
    digits,
    pair_index,
    photo,
    shapes,
)


@pytest.fixture(scope="module")
def world():
    """A mixed batch at 48 x 48 with up to four objects (crowded enough to leave some out)."""
    return shapes(300, 48, seed=7, max_objects=4, scale=(0.15, 0.45))


def objects(batch, i: int) -> list[tuple[int, int, int]]:
    """(slot, colour label, shape label) of the objects present in image i."""
    return [(k, int(batch.colour_labels[i, k]), int(batch.shape_labels[i, k]))
            for k in range(int(batch.num_objects[i]))]


def tight_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """(x, y, w, h) of the smallest box holding every True pixel of a 2-D mask."""
    rows, cols = np.nonzero(mask)
    return (cols.min(), rows.min(), cols.max() - cols.min() + 1, rows.max() - rows.min() + 1)


# --- the shapes world --------------------------------------------------------------------------
def test_vocabulary_is_fixed_and_named():
    assert SHAPES == ("circle", "square", "triangle")
    assert {"red", "green", "blue", "yellow"} <= set(COLOURS) == set(COLOUR_RGB)
    assert len(PAIRS) == len(SHAPES) * len(COLOURS) == len(set(PAIRS))
    assert PAIRS[pair_index("blue", "triangle")] == ("blue", "triangle")


def test_shapes_types_shapes_and_ranges(world):
    n, k, size = 300, 4, 48
    assert world.images.shape == (n, 3, size, size) and world.images.dtype == torch.float32
    assert 0 <= world.images.min() and world.images.max() <= 1
    assert world.boxes.shape == (n, k, 4) and world.boxes.dtype == torch.float32
    for labels in (world.shape_labels, world.colour_labels):
        assert labels.shape == (n, k) and labels.dtype == torch.int64
    for masks in (world.instance_masks, world.semantic_masks):
        assert masks.shape == (n, size, size) and masks.dtype == torch.int64
    assert world.num_objects.dtype == torch.int64 and len(world) == len(world.captions) == n
    assert 1 <= world.num_objects.min() and world.num_objects.max() <= k
    slots = torch.arange(k)
    present = slots < world.num_objects[:, None]  # present objects fill the first slots
    assert torch.equal(world.shape_labels >= 0, present)
    assert torch.equal(world.colour_labels >= 0, present)
    assert (world.boxes[~present] == 0).all()
    assert world.shape_labels.max() < len(SHAPES) and world.colour_labels.max() < len(COLOURS)
    # crowded scenes: some objects found no place, yet most images hold more than one
    assert (world.num_objects > 1).float().mean() > 0.5


def test_same_seed_same_batch_whatever_the_global_random_state():
    torch.manual_seed(1)
    first = shapes(50, 32, seed=3)
    torch.manual_seed(2)
    second = shapes(50, 32, seed=3)
    for name in ("images", "boxes", "shape_labels", "colour_labels", "num_objects",
                 "instance_masks", "semantic_masks"):
        assert torch.equal(getattr(first, name), getattr(second, name)), name
    assert first.captions == second.captions
    torch.manual_seed(2)
    expected_next = torch.rand(3)
    torch.manual_seed(2)
    shapes(5, 32, seed=3)
    assert torch.equal(torch.rand(3), expected_next)  # the global generator was not used


def test_different_seeds_differ():
    a, b = shapes(50, 32, seed=0), shapes(50, 32, seed=1)
    assert not torch.equal(a.images, b.images)
    assert not torch.equal(a.boxes, b.boxes)


def test_boxes_are_the_tight_boxes_of_the_instance_masks(world):
    masks = world.instance_masks.numpy()
    for i in range(len(world)):
        ids = set(np.unique(masks[i])) - {0}
        assert ids == set(range(1, int(world.num_objects[i]) + 1)), i
        for k, _, _ in objects(world, i):
            assert tight_box(masks[i] == k + 1) == tuple(world.boxes[i, k].int().tolist()), (i, k)


def test_objects_neither_overlap_nor_touch(world):
    for i in range(len(world)):
        boxes = world.boxes[i, : int(world.num_objects[i])].tolist()
        for a in range(len(boxes)):
            for b in range(a + 1, len(boxes)):
                (xa, ya, wa, ha), (xb, yb, wb, hb) = boxes[a], boxes[b]
                apart = xa + wa < xb or xb + wb < xa or ya + ha < yb or yb + hb < ya
                assert apart, (i, boxes[a], boxes[b])


def test_semantic_mask_is_one_plus_the_shape_label_of_each_instance(world):
    for i in range(len(world)):
        expected = torch.zeros_like(world.semantic_masks[i])
        for k, _, shape in objects(world, i):
            expected[world.instance_masks[i] == k + 1] = shape + 1
        assert torch.equal(world.semantic_masks[i], expected), i


def test_object_pixels_have_their_colour_and_the_background_is_grey(world):
    pixels = world.images.permute(0, 2, 3, 1)  # (N, H, W, 3)
    palette = torch.tensor([COLOUR_RGB[name] for name in COLOURS])
    for k in range(world.boxes.shape[1]):
        inside = world.instance_masks == k + 1  # (N, H, W)
        colour = palette[world.colour_labels[:, k].clamp(min=0)]  # (N, 3)
        expected = colour[:, None, None, :].expand_as(pixels)[inside]
        assert torch.equal(pixels[inside], expected), k
    background = pixels[world.instance_masks == 0]
    assert torch.equal(background[:, 0], background[:, 1])
    assert torch.equal(background[:, 0], background[:, 2])
    plain = shapes(20, 32, seed=0, noise=0.0)
    for i in range(20):
        grey = plain.images[i, 0][plain.instance_masks[i] == 0]
        assert grey.min() == grey.max()


def test_each_shape_fills_its_box_as_geometry_says():
    """Area / box area: square 1, disc pi/4, triangle 1/2 (plus the rasterised apex)."""
    batch = shapes(300, 64, seed=2, max_objects=1, scale=0.5)
    filled = (batch.instance_masks == 1).flatten(1).sum(1) / 32**2
    expected = {"circle": math.pi / 4, "square": 1.0, "triangle": 0.5}
    tolerance = {"circle": 0.02, "square": 0.0, "triangle": 0.05}
    for label, name in enumerate(SHAPES):
        fractions = filled[batch.shape_labels[:, 0] == label]
        assert len(fractions) > 50
        assert (fractions - expected[name]).abs().max() <= tolerance[name], name
    for mask in batch.instance_masks[batch.shape_labels[:, 0] == 2] == 1:
        widths = mask.sum(1)[mask.any(1)]  # upright: from a 1-2 pixel apex down to the base
        assert widths[0] <= 2 and widths[-1] == 32 and (widths.diff() >= 0).all()


def test_captions_name_exactly_the_objects_present(world):
    for i in range(len(world)):
        named = re.findall(r"a (\w+) (\w+)", world.captions[i])
        present = [(COLOURS[colour], SHAPES[shape]) for _, colour, shape in objects(world, i)]
        assert named == present, world.captions[i]
        assert world.captions[i] == caption(present)


def test_caption_reads_as_english():
    assert caption([("red", "circle")]) == "a red circle"
    assert caption([("blue", "square"), ("green", "triangle")]) == \
        "a blue square and a green triangle"
    assert caption([("red", "circle"), ("blue", "square"), ("green", "triangle")]) == \
        "a red circle, a blue square and a green triangle"


def test_held_out_pairs_never_appear_and_the_others_do():
    held_out = {("red", "circle"), ("blue", "square")}
    batch = shapes(600, 32, seed=4, exclude_pairs=[("red", "circle"), "blue square"])
    seen = collections.Counter()
    for i in range(len(batch)):
        seen.update((COLOURS[c], SHAPES[s]) for _, c, s in objects(batch, i))
    assert not held_out & set(seen)
    assert set(seen) == set(PAIRS) - held_out
    for pair in held_out:
        assert " ".join(pair) not in " ".join(batch.captions)


def test_only_pairs_restricts_the_vocabulary():
    batch = shapes(200, 32, seed=5, only_pairs=["yellow triangle", ("green", "circle")])
    pairs = {(COLOURS[c], SHAPES[s]) for i in range(len(batch)) for _, c, s in objects(batch, i)}
    assert pairs == {("yellow", "triangle"), ("green", "circle")}


def test_bad_pairs_are_refused():
    with pytest.raises(ValueError, match="colours are"):
        shapes(2, exclude_pairs=["purple circle"])
    with pytest.raises(ValueError, match="no .* pair"):
        shapes(2, only_pairs=["red circle"], exclude_pairs=["red circle"])


def test_single_object_mode():
    batch = shapes(200, 32, seed=6, max_objects=1)
    assert batch.boxes.shape == (200, 1, 4) and (batch.num_objects == 1).all()
    assert set(batch.instance_masks.unique().tolist()) == {0, 1}
    assert (batch.shape_labels >= 0).all() and not any(" and " in c for c in batch.captions)
    assert set(batch.shape_labels[:, 0].tolist()) == set(range(len(SHAPES)))


def test_scale_sets_the_object_size():
    fixed = shapes(100, 64, seed=0, scale=0.25)
    present = fixed.shape_labels >= 0
    assert (fixed.boxes[present][:, 2:] == 16).all()
    small, large = (shapes(300, 64, seed=0, scale=scale) for scale in ((0.1, 0.2), (0.4, 0.6)))
    for batch, (low, high) in ((small, (6, 13)), (large, (26, 38))):
        sides = batch.boxes[batch.shape_labels >= 0][:, 2]
        assert low <= sides.min() and sides.max() <= high
        assert len(sides.unique()) > 3  # a range, not one size
    with pytest.raises(ValueError, match="scale"):
        shapes(2, 32, scale=1.5)


def test_to_moves_every_tensor():
    batch = shapes(4, 16, seed=0, scale=0.4, device="cpu").to("meta")
    assert all(t.device.type == "meta" for t in (batch.images, batch.boxes, batch.instance_masks))
    assert len(batch.captions) == 4


# --- scikit-learn's digits ---------------------------------------------------------------------
def test_digits_split_sizes_types_and_range():
    X_train, y_train = digits("train")
    X_test, y_test = digits("test")
    assert X_train.shape == (1437, 1, 8, 8) and X_test.shape == (DIGITS_TEST_SIZE, 1, 8, 8) == \
        (360, 1, 8, 8)
    assert X_train.dtype == torch.float32 and y_train.dtype == torch.int64
    assert X_train.min() == 0 and X_train.max() == 1 and y_test.shape == (360,)


def test_digits_are_sklearns_images_each_used_once():
    """Train and test together are exactly sklearn's 1,797 (image, label) pairs: no overlap."""
    raw = load_digits()
    expected = _image_label_counts(raw.images.astype(np.int64), raw.target)
    split = collections.Counter()
    for part in ("train", "test"):
        X, y = digits(part)
        pixels = (X[:, 0] * 16).round().numpy().astype(np.int64)
        assert np.allclose(X[:, 0].numpy() * 16, pixels, atol=1e-5)
        split += _image_label_counts(pixels, y.numpy())
    assert split == expected


def _image_label_counts(images: np.ndarray, labels: np.ndarray) -> collections.Counter:
    """How often each (image bytes, label) pair occurs (the digits hold a few duplicates)."""
    return collections.Counter((image.tobytes(), int(label))
                               for image, label in zip(images, labels, strict=True))


def test_digits_split_is_stratified_and_fixed():
    raw_counts = np.bincount(load_digits().target)
    _, y_test = digits("test")
    expected = raw_counts * DIGITS_TEST_SIZE / raw_counts.sum()
    assert np.abs(np.bincount(y_test.numpy()) - expected).max() <= 1
    X_again, y_again = digits("test")
    assert torch.equal(y_again, y_test) and torch.equal(X_again, digits("test")[0])
    assert not torch.equal(digits("test", seed=1)[1], y_test)
    with pytest.raises(ValueError, match="split"):
        digits("validation")


# --- scikit-image's photographs ----------------------------------------------------------------
@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a connection fails, as on a grading machine without internet."""
    def refuse(*args, **kwargs):
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.mark.parametrize("name", sorted(PHOTOS))
def test_every_offered_photo_ships_with_scikit_image(name, no_network):
    assert (Path(skimage.data.data_dir) / PHOTOS[name]).is_file()
    image = photo(name)
    assert image.ndim == 3 and image.shape[0] in (1, 3) and image.dtype == torch.float32
    assert 0 <= image.min() and image.max() <= 1 and image.max() > image.min()


def test_photo_matches_scikit_image(no_network):
    chelsea = photo("chelsea")
    assert chelsea.shape == (3, 300, 451)
    reference = torch.from_numpy(skimage.data.chelsea()).permute(2, 0, 1) / 255
    assert torch.allclose(chelsea, reference.float(), atol=1e-6)
    assert photo("camera").shape == (1, 512, 512)


def test_unknown_photo_lists_the_names():
    with pytest.raises(ValueError, match="available: astronaut, .*chelsea.*coffee"):
        photo("eagle")  # part of skimage.data, but fetched from the internet
