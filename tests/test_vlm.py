"""cvcourse.vlm: the helpers 09_vlm's demonstrations rely on (patches, the shapes world's truth
per pair, trusted scoring of boxes and masks, the prompt decoder)."""

from __future__ import annotations

import math

import pytest
import torch

from cvcourse import vlm
from cvcourse.data import PAIRS, pair_index, shapes


def test_patchify_orders_patches_row_major_and_unpatchify_inverts_it():
    images = torch.randn(2, 3, 8, 12)
    patches = vlm.patchify(images, 4)
    assert patches.shape == (2, 6, 48)
    # patch 4 is the second row's second patch: rows 4..7, columns 4..7, (row, col, channel)
    assert torch.equal(patches[1, 4], images[1, :, 4:8, 4:8].permute(1, 2, 0).reshape(-1))
    assert torch.equal(vlm.unpatchify(patches, 4, 8, 12), images)


def test_pair_masks_and_boxes_agree_with_the_shapes_world():
    batch = shapes(6, seed=2, max_objects=3)
    masks = vlm.pair_masks(batch)
    assert masks.shape == (6, len(PAIRS), 32, 32) and masks.dtype == torch.bool
    assert torch.equal(masks.any(1), batch.instance_masks > 0)
    colour, shape = batch.captions[0].split(",")[0].split(" and ")[0].split()[1:3]
    k = pair_index(colour, shape)
    boxes = vlm.pair_boxes(batch, k)
    assert len(boxes) == 6
    x, y, w, h = batch.boxes[0, 0].tolist()
    assert [x, y, x + w, y + h] in boxes[0].tolist()
    rows, cols = torch.nonzero(masks[0, k], as_tuple=True)
    assert int(rows.min()) >= y and int(cols.max()) < x + w + 32  # inside the image, sanity


def test_box_iou_and_average_precision_by_hand():
    a = torch.tensor([[0.0, 0.0, 3.0, 3.0]])
    b = torch.tensor([[1.0, 0.0, 4.0, 3.0], [3.0, 0.0, 5.0, 3.0], [0.0, 0.0, 0.0, 0.0]])
    assert torch.allclose(vlm.box_iou(a, b), torch.tensor([[0.5, 0.0, 0.0]]))
    assert math.isclose(vlm.average_precision([0.9, 0.8, 0.7], [True, False, True], 2),
                        (51 + 50 * 2 / 3) / 101)
    with pytest.raises(ValueError):
        vlm.average_precision([0.5], [True], 0)


def test_detection_ap_counts_false_positives_on_images_without_the_object():
    truth = [torch.tensor([[0.0, 0.0, 4.0, 4.0]]), torch.zeros(0, 4)]
    perfect = [(torch.tensor([[0.0, 0.0, 4.0, 4.0]]), torch.tensor([0.9])),
               (torch.zeros(0, 4), torch.zeros(0))]
    assert vlm.detection_ap(perfect, truth) == 1.0
    noisy = [perfect[0], (torch.tensor([[5.0, 5.0, 9.0, 9.0]]), torch.tensor([0.95]))]
    assert math.isclose(vlm.detection_ap(noisy, truth), 0.5)  # precision 1/2 at recall 1
    assert math.isnan(vlm.detection_ap(perfect, [torch.zeros(0, 4)] * 2))


def test_prompt_iou_per_prompt_over_the_set():
    labels = torch.tensor([[[0, 1], [2, 2]]])
    masks = torch.tensor([[[[False, True], [False, True]], [[False, False], [True, True]],
                           [[False, False], [False, False]]]])
    ious = vlm.prompt_iou(labels, masks)
    assert ious[:2].tolist() == [0.5, 1.0] and math.isnan(ious[2])


def test_decoder_inputs_and_training_are_shaped_and_deterministic():
    gen = torch.Generator().manual_seed(0)
    scores = torch.rand(4, 3, 8, 8, generator=gen)  # two prompts and the background
    images = torch.rand(4, 3, 32, 32, generator=gen)
    prompt = torch.tensor([0, 1, 1, 0])
    x = vlm.decoder_inputs(scores, images, prompt)
    assert x.shape == (4, 6, 32, 32)
    assert torch.equal(x[:, 3:], images)
    own = torch.nn.functional.interpolate(scores[[0], [0]][:, None], size=32, mode="bilinear",
                                          align_corners=False)
    assert torch.allclose(x[0, 0], own[0, 0])
    assert torch.allclose(x[0, 2], x[0, 0] - torch.nn.functional.interpolate(
        scores[[0], [1]][:, None], size=32, mode="bilinear", align_corners=False)[0, 0], atol=1e-6)
    masks = torch.zeros(4, 2, 32, 32, dtype=torch.bool)
    masks[:, 0, 4:12, 4:12] = True
    first = vlm.train_prompt_decoder(scores, images, masks, [0, 1], num_steps=3, batch_size=4)
    again = vlm.train_prompt_decoder(scores, images, masks, [0, 1], num_steps=3, batch_size=4)
    assert not first.training
    assert all(torch.equal(p, q) for p, q in zip(first.parameters(), again.parameters(),
                                                 strict=True))
    probs = vlm.decode(first, scores, images)
    assert probs.shape == (4, 2, 32, 32) and bool(((probs >= 0) & (probs <= 1)).all())
