"""Known-wrong answers for source/08_dense_prediction/08_dense_prediction.ipynb: one plausible
student bug per graded code cell (``autograder.mutants.Mutant``), plus library shortcuts where a
library offers one. Each must fail at least one test of its own exercise; when the solution it
patches changes, the test says so and the mutant must be updated. The manually graded answers
have no mutant."""

from autograder.mutants import Mutant

MUTANTS = [
    Mutant("box-convert", "centre form: adds the half size instead of subtracting it",
           "x1, y1, x2, y2 = a - c / 2, b - d / 2, a + c / 2, b + d / 2",
           "x1, y1, x2, y2 = a + c / 2, b + d / 2, a + c, b + d"),
    Mutant("box-convert", "returns width and height where corners are asked for",
           "return torch.stack([x1, y1, x2, y2], dim=-1)",
           "return torch.stack([x1, y1, x2 - x1, y2 - y1], dim=-1)"),
    Mutant("box-iou", "forgets to clamp: disjoint boxes get a negative-times-negative overlap",
           "sides = (bottom_right - top_left).clamp(min=0)", "sides = bottom_right - top_left"),
    Mutant("box-iou", "divides by the sum of the areas instead of the union",
           "union = area1[:, None] + area2[None, :] - inter",
           "union = area1[:, None] + area2[None, :]"),
    Mutant("nms", "takes the lowest score first",
           "order = scores.argsort(descending=True)", "order = scores.argsort()"),
    Mutant("nms", "suppresses at IoU equal to the threshold",
           "order = rest[iou <= iou_threshold]", "order = rest[iou < iou_threshold]"),
    Mutant("nms", "returns the kept indices in input order, not by score",
           "return torch.stack(keep)", "return torch.stack(keep).sort().values"),
    Mutant("average-precision", "no envelope: reads the raw, zig-zag precision",
           "envelope = np.maximum.accumulate(precision[::-1])[::-1]", "envelope = precision"),
    Mutant("average-precision", "the shortcut: scikit-learn's average_precision_score",
           "    return float(read.mean())",
           "    from sklearn.metrics import average_precision_score\n"
           "    return float(average_precision_score(matched, scores)"
           " * matched.sum() / num_ground_truth)"),
    Mutant("average-precision", "11 recall points (VOC 2007) instead of COCO's 101",
           "thresholds = np.linspace(0, 1, 101)", "thresholds = np.linspace(0, 1, 11)"),
]
MUTANTS += [
    Mutant("tiny-detector", "a 3 x 3 head instead of 1 x 1",
           "nn.Conv2d(32, 1 + num_classes + 4, 1))",
           "nn.Conv2d(32, 1 + num_classes + 4, 3, padding=1))"),
    Mutant("tiny-detector", "forgets the cell offset: every centre lands in the first column",
           "cx = self.stride * (cols + torch.sigmoid(t[:, 0]))",
           "cx = self.stride * torch.sigmoid(t[:, 0])"),
    Mutant("tiny-detector", "scores include the background class",
           "scores, labels = probs[:, 1:].max(dim=1)",
           "scores, labels = probs.max(dim=1)"),
]
MUTANTS += [
    Mutant("mean-iou", "the shortcut: averages over every class, absent ones as 0 (sklearn macro)",
           "return float(per_class[present].mean()) if bool(present.any()) else float(\"nan\"), "
           "per_class",
           "return float(per_class.nan_to_num(0.0).mean()), per_class"),
    Mutant("mean-iou", "counts the ignored pixels as background",
           "valid = target != ignore_index", "valid = target >= 0\n"
           "    target = torch.where(target == ignore_index, 0, target)"),
    Mutant("mean-iou", "divides by the true pixels only (recall, not IoU)",
           "union = confusion.sum(0) + confusion.sum(1) - tp", "union = confusion.sum(1)"),
]
MUTANTS += [
    Mutant("instances-from-semantic", "the shortcut: scikit-image's label (4/8-connectivity only)",
           "    H, W = semantic.shape\n",
           "    from skimage.measure import label\n"
           "    ids = label(semantic.cpu().numpy(), connectivity=len(offsets) // 2, background=0)\n"
           "    classes = [int(semantic.reshape(-1)[int((torch.tensor(ids) == k).reshape(-1)"
           ".nonzero()[0])]) for k in range(1, ids.max() + 1)]\n"
           "    return (torch.tensor(ids, device=semantic.device),\n"
           "            torch.tensor(classes, dtype=torch.int64, device=semantic.device))\n"),
    Mutant("instances-from-semantic", "joins neighbours of different classes",
           "same = ((semantic[dst_rows, dst_cols] == semantic[src_rows, src_cols])",
           "same = ((semantic[src_rows, src_cols] > 0)"),
    Mutant("instances-from-semantic", "follows each offset in one direction only",
           "for sign in (1, -1):", "for sign in (1,):"),
]
MUTANTS += [
    Mutant("tiny-segmenter", "concatenates the upsampled features first, the skip second",
           "return self.head(torch.cat([skip, self.middle(skip)], dim=1))",
           "return self.head(torch.cat([self.middle(skip), skip], dim=1))"),
    Mutant("tiny-segmenter", "segment returns the largest logit, not its class",
           "return self(images).argmax(dim=1)", "return self(images).max(dim=1).values.long()"),
]
MUTANTS += [
    Mutant("lucas-kanade", "swaps the gradients: I_x along rows, I_y along columns",
           "I_y, I_x = torch.gradient(frame0)", "I_x, I_y = torch.gradient(frame0)"),
    Mutant("lucas-kanade", "forgets the minus sign of the right-hand side",
           "u = torch.where(solvable, (-syy * sxt + sxy * syt) / safe, torch.zeros_like(det))",
           "u = torch.where(solvable, (syy * sxt - sxy * syt) / safe, torch.zeros_like(det))"),
    Mutant("lucas-kanade", "the shortcut: scikit-image's iterative optical_flow_ilk",
           "    I_y, I_x = torch.gradient(frame0)\n",
           "    from skimage.registration import optical_flow_ilk\n"
           "    v, u = optical_flow_ilk(frame0.cpu().numpy(), frame1.cpu().numpy(),\n"
           "                            radius=radius)\n"
           "    return torch.tensor(np.stack([u, v]), dtype=frame0.dtype, device=frame0.device)\n"),
]
