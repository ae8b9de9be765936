"""Vision-language pieces for 09_vlm: what the notebook's demonstrations need besides the
students' own functions. Patches of an image (MAE), the shapes world's truth per colour/shape
pair (masks and boxes), trusted box IoU and COCO-style AP for scoring detections, and a small
CLIPSeg-style decoder that turns the tiny CLIP's region-word scores into pixel masks.

The decoder sees a prompt only through its scores (its own, the background prompt's, and its
margin over the other prompts), never the words, and is trained on the seen pairs only: so its
results on HELD_OUT_PAIRS measure prompts it never met in training.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cvcourse.data import PAIRS, SHAPES, ShapesBatch

PROMPT = "a photo of a {}."
BACKGROUND_PROMPT = "a photo of a dark background."


# --- MAE: images as sequences of patches -------------------------------------------------------
def patchify(images: torch.Tensor, patch: int) -> torch.Tensor:
    """[N, C, H, W] -> [N, L, patch * patch * C], patches in row-major order (H, W multiples of
    ``patch``; L = HW / patch^2), each flattened as (row, column, channel)."""
    n, c, h, w = images.shape
    x = images.reshape(n, c, h // patch, patch, w // patch, patch)
    return x.permute(0, 2, 4, 3, 5, 1).reshape(n, (h // patch) * (w // patch), patch * patch * c)


def unpatchify(patches: torch.Tensor, patch: int, height: int, width: int) -> torch.Tensor:
    """The inverse of ``patchify``: [N, L, patch * patch * C] -> [N, C, height, width]."""
    n, _, d = patches.shape
    c = d // (patch * patch)
    x = patches.reshape(n, height // patch, width // patch, patch, patch, c)
    return x.permute(0, 5, 1, 3, 2, 4).reshape(n, c, height, width)


# --- the truth of the shapes world, per colour/shape pair --------------------------------------
def pair_masks(batch: ShapesBatch) -> torch.Tensor:
    """[N, 18, H, W] bool: pixel (y, x) of image n belongs to an object of pair k (PAIRS order)."""
    n, height, width = batch.instance_masks.shape
    masks = torch.zeros(n, len(PAIRS), height, width, dtype=torch.bool)
    pairs = batch.colour_labels * len(SHAPES) + batch.shape_labels  # [N, K]
    for slot in range(pairs.shape[1]):
        present = torch.nonzero(slot < batch.num_objects).flatten()
        pixels = batch.instance_masks[present].cpu() == slot + 1
        masks[present, pairs[present, slot].cpu()] |= pixels
    return masks


def pair_boxes(batch: ShapesBatch, pair: int) -> list[torch.Tensor]:
    """For each image, the boxes [M, 4] (x1, y1, x2, y2, float32) of its objects of pair index
    ``pair``."""
    out = []
    for i in range(len(batch)):
        count = int(batch.num_objects[i])
        labels = batch.colour_labels[i, :count] * len(SHAPES) + batch.shape_labels[i, :count]
        x, y, w, h = batch.boxes[i, :count][labels == pair].cpu().unbind(1)
        out.append(torch.stack([x, y, x + w, y + h], dim=1))
    return out


# --- scoring detections and masks ---------------------------------------------------------------
def box_iou(boxes1: torch.Tensor, boxes2: torch.Tensor) -> torch.Tensor:
    """IoU [N, M] of corner-form boxes [N, 4] and [M, 4] (0 where the union is empty)."""
    area1 = (boxes1[:, 2] - boxes1[:, 0]) * (boxes1[:, 3] - boxes1[:, 1])
    area2 = (boxes2[:, 2] - boxes2[:, 0]) * (boxes2[:, 3] - boxes2[:, 1])
    top_left = torch.maximum(boxes1[:, None, :2], boxes2[None, :, :2])
    bottom_right = torch.minimum(boxes1[:, None, 2:], boxes2[None, :, 2:])
    sides = (bottom_right - top_left).clamp(min=0)
    inter = sides[..., 0] * sides[..., 1]
    union = area1[:, None] + area2[None, :] - inter
    return torch.where(union > 0, inter / union.clamp(min=1e-12), torch.zeros_like(union))


def average_precision(scores: Sequence[float], matched: Sequence[bool],
                      num_ground_truth: int) -> float:
    """COCO's 101-point interpolated AP (08_dense_prediction derives it)."""
    if num_ground_truth <= 0:
        raise ValueError(f"need at least one object, got {num_ground_truth}")
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    hits = np.asarray(matched, dtype=bool)[order]
    tp, fp = np.cumsum(hits), np.cumsum(~hits)
    recall, precision = tp / num_ground_truth, tp / np.maximum(tp + fp, 1)
    envelope = np.maximum.accumulate(precision[::-1])[::-1]
    where = np.searchsorted(recall, np.linspace(0, 1, 101), side="left")
    read = np.zeros(101)
    read[where < len(recall)] = envelope[where[where < len(recall)]]
    return float(read.mean())


def detection_ap(detections: Sequence[tuple[torch.Tensor, torch.Tensor]],
                 truth: Sequence[torch.Tensor], iou_threshold: float = 0.5) -> float:
    """AP of one prompt over a set of images: ``detections[i]`` = (boxes [D, 4], scores [D]),
    ``truth[i]`` = boxes [M, 4]; a detection is right when it overlaps a not yet matched box by
    IoU >= ``iou_threshold`` (best-scoring detections first, per image). NaN without objects."""
    scores, matched, objects = [], [], 0
    for (boxes, box_scores), wanted in zip(detections, truth, strict=True):
        boxes, box_scores = boxes.detach().cpu().double(), box_scores.detach().cpu().double()
        wanted = wanted.double()
        objects += len(wanted)
        free = torch.ones(len(wanted), dtype=torch.bool)
        overlaps = box_iou(boxes, wanted)
        for row in box_scores.argsort(descending=True).tolist():
            candidates = torch.where(free, overlaps[row], torch.zeros_like(overlaps[row]))
            hit = len(wanted) > 0 and bool(candidates.max() >= iou_threshold)
            if hit:
                free[candidates.argmax()] = False
            scores.append(float(box_scores[row]))
            matched.append(hit)
    return average_precision(scores, matched, objects) if objects else float("nan")


def prompt_iou(labels: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """IoU per prompt [K] float64 over a whole test set: ``labels`` [N, H, W] (0 background,
    k + 1 for prompt k), ``masks`` [N, K, H, W] bool truth; NaN for a prompt in neither."""
    labels, masks = labels.cpu(), masks.cpu()
    ious = []
    for k in range(masks.shape[1]):
        predicted, wanted = labels == k + 1, masks[:, k]
        union = (predicted | wanted).sum().item()
        ious.append((predicted & wanted).sum().item() / union if union else float("nan"))
    return torch.tensor(ious, dtype=torch.float64)


# --- a CLIPSeg-style decoder on the frozen tiny CLIP --------------------------------------------
def decoder_inputs(scores: torch.Tensor, images: torch.Tensor,
                   prompt: torch.Tensor) -> torch.Tensor:
    """What the decoder sees for prompt ``prompt[n]`` of image n: [N, 6, H, W] = the prompt's
    region-word score, the background prompt's, and the prompt's margin over the best other
    prompt (each upsampled bilinearly from the patch grid), and the image's RGB.

    scores: [N, K + 1, h, w] region-word scores of K prompts and the background prompt (last);
    images: [N, 3, H, W]; prompt: [N] int64 in 0 .. K - 1.
    """
    rows = torch.arange(len(prompt), device=scores.device)
    own = scores[rows, prompt]
    others = scores[:, :-1].clone()
    others[rows, prompt] = -torch.inf
    maps = torch.stack([own, scores[:, -1], own - others.amax(1)], dim=1)
    maps = F.interpolate(maps, size=images.shape[-2:], mode="bilinear", align_corners=False)
    return torch.cat([maps, images], dim=1)


def prompt_decoder(width: int = 16) -> nn.Sequential:
    """Three convolutions from decoder_inputs' 6 channels to one mask logit per pixel."""
    return nn.Sequential(nn.Conv2d(6, width, 3, padding=1), nn.ReLU(),
                         nn.Conv2d(width, width, 3, padding=1), nn.ReLU(),
                         nn.Conv2d(width, 1, 1))


def train_prompt_decoder(scores: torch.Tensor, images: torch.Tensor, masks: torch.Tensor,
                         prompts: Sequence[int], num_steps: int = 300, batch_size: int = 32,
                         lr: float = 1e-2, seed: int = 0) -> nn.Sequential:
    """Train ``prompt_decoder()`` with the binary cross-entropy of every pixel: each step takes
    ``batch_size`` images and, for each, a prompt of ``prompts`` (60 % of the time one whose
    pair is in the image, else any), with that pair's mask as the target. Returns the decoder
    in eval mode, on the device of ``scores``."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    device = scores.device
    masks = masks.to(device)
    decoder = prompt_decoder().to(device)
    optimizer = torch.optim.Adam(decoder.parameters(), lr=lr)
    allowed = torch.tensor(list(prompts))
    present = masks.flatten(2).any(2).cpu()[:, allowed]  # [N, len(prompts)]
    for _ in range(num_steps):
        idx = torch.randint(len(images), (batch_size,), generator=generator)
        shown = allowed[torch.multinomial(present[idx].float() + 1e-6, 1,
                                          generator=generator)[:, 0]]
        anything = allowed[torch.randint(len(allowed), (batch_size,), generator=generator)]
        prompt = torch.where(torch.rand(batch_size, generator=generator) < 0.6, shown, anything)
        idx, prompt = idx.to(device), prompt.to(device)
        logits = decoder(decoder_inputs(scores[idx], images[idx], prompt))
        target = masks[idx, prompt].float().unsqueeze(1)
        loss = F.binary_cross_entropy_with_logits(logits, target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return decoder.eval()


@torch.no_grad()
def decode(decoder: nn.Module, scores: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
    """Mask probabilities [N, K, H, W] of every prompt (not the background) for every image."""
    n, k = len(images), scores.shape[1] - 1
    return torch.cat([torch.sigmoid(decoder(decoder_inputs(
        scores, images, torch.full((n,), p, device=scores.device)))) for p in range(k)], dim=1)
