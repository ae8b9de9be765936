"""cvcourse.clip: does the committed tiny CLIP load, match its recorded checksum, refuse a
missing or different file in one line that says what to run, have the shapes 07 and 09 rely
on, and recognise colour/shape pairs it never saw in training far above chance?"""

from __future__ import annotations

import json
import math
import shutil

import pytest
import torch

from cvcourse.clip import (
    COMMAND,
    EMBED_DIM,
    HELD_OUT_PAIRS,
    LOGIT_SCALE_INIT,
    MAX_TOKENS,
    RECORD,
    VOCAB,
    WEIGHTS,
    TinyCLIP,
    as_module_dict,
    held_out_accuracy,
    load_tiny_clip,
    main,
    recorded,
    tokenize,
    train_tiny_clip,
    training_captions,
)
from cvcourse.data import PAIRS, shapes
from cvcourse.train import WeightsChecksumError, file_sha256


@pytest.fixture(scope="module")
def committed() -> TinyCLIP:
    return load_tiny_clip()


def test_the_committed_weights_are_small_and_recorded():
    record = recorded()
    assert WEIGHTS.stat().st_size < 5 * 2**20 and record["bytes"] == WEIGHTS.stat().st_size
    assert record["sha256"] == file_sha256(WEIGHTS)
    assert record["command"] == COMMAND and record["seed"] == 0
    assert record["held_out_pairs"] == [" ".join(p) for p in HELD_OUT_PAIRS]
    assert RECORD == WEIGHTS.with_suffix(".json")


def test_loading_gives_an_eval_mode_model_on_the_device(committed):
    assert not committed.training
    assert next(committed.parameters()).device.type == "cpu"
    assert committed.scale().item() <= 100.0 + 1e-4


def test_a_missing_file_says_in_one_line_what_to_run(tmp_path):
    with pytest.raises(FileNotFoundError) as error:
        load_tiny_clip(tmp_path / "tiny_clip.pt")
    message = str(error.value)
    assert "\n" not in message and COMMAND in message and "tiny_clip.pt" in message


def test_a_different_file_is_refused_in_one_line_that_says_what_to_run(tmp_path):
    path = tmp_path / "tiny_clip.pt"
    shutil.copy(WEIGHTS, path)
    path.with_suffix(".json").write_text(RECORD.read_text())
    load_tiny_clip(path)  # an exact copy with its record loads
    path.write_bytes(path.read_bytes() + b"\0")  # damaged
    for expected in (None, recorded()["sha256"]):
        with pytest.raises(WeightsChecksumError) as error:
            load_tiny_clip(path, sha256=expected)
        message = str(error.value)
        assert "\n" not in message and COMMAND in message and recorded()["sha256"] in message


def test_tokenize_pads_cuts_and_marks_unknown_words():
    tokens = tokenize(["A red circle.", "a zebra", " ".join(["circle"] * 40)])
    assert tokens.shape == (3, MAX_TOKENS) and tokens.dtype == torch.int64
    assert [VOCAB[i] for i in tokens[0, :4]] == ["a", "red", "circle", "."]
    assert tokens[0, 4:].eq(0).all()
    assert tokens[1, 1].item() == 1  # <unk>
    assert tokens[2].ne(0).all()  # cut at MAX_TOKENS


def test_output_shapes_for_07_and_09(committed):
    images = shapes(5, seed=0).images
    tokens = tokenize(["a red circle", "a photo of a blue square.", "a triangle"])
    with torch.no_grad():
        assert committed.encode_image(images).shape == (5, EMBED_DIM)
        patches = committed.image_feature_map(images)
        assert patches.shape == (5, EMBED_DIM, 8, 8)
        torch.testing.assert_close(patches.mean(dim=(2, 3)), committed.encode_image(images))
        assert committed.encode_text(tokens).shape == (3, EMBED_DIM)
        logits = committed(images, tokens)
        assert logits.shape == (5, 3)
        towers = as_module_dict(committed)
        torch.testing.assert_close(towers["image"](images), committed.encode_image(images))
        torch.testing.assert_close(towers["text"](tokens), committed.encode_text(tokens))
        assert towers["scale"]["logit_scale"] is committed.logit_scale


def test_the_logit_scale_starts_at_the_papers_temperature_and_is_capped_at_100():
    model = TinyCLIP()
    assert model.logit_scale.item() == pytest.approx(math.log(1 / 0.07))
    assert LOGIT_SCALE_INIT == pytest.approx(2.6593, abs=1e-4)
    with torch.no_grad():
        model.logit_scale.fill_(10.0)
    assert model.scale().item() == pytest.approx(100.0)


def test_the_committed_model_names_held_out_pairs_far_above_chance(committed):
    accuracy = held_out_accuracy(committed)
    chance = 1 / len(PAIRS)
    assert accuracy >= 0.5 > 5 * chance
    assert accuracy == pytest.approx(recorded()["held_out_accuracy"], abs=0.02)


def test_training_captions_never_hold_a_held_out_pair():
    data = shapes(300, seed=4, max_objects=3, exclude_pairs=HELD_OUT_PAIRS)
    captions = training_captions(data, torch.Generator().manual_seed(0))
    assert len(captions) == 300
    assert not any(f"{c} {s}" in text for text in captions for c, s in HELD_OUT_PAIRS)
    assert any("shape" in text for text in captions)  # colour-only names occur
    assert all(tokenize([text])[0].ne(1).all() for text in captions)  # every word known


def test_training_is_reproducible_for_a_seed():
    first = train_tiny_clip(seed=3, num_images=256, epochs=1, batch_size=64)
    second = train_tiny_clip(seed=3, num_images=256, epochs=1, batch_size=64)
    for (name, a), b in zip(first.state_dict().items(), second.state_dict().values(),
                            strict=True):
        assert torch.equal(a, b), name
    assert not first.training


def test_the_command_writes_weights_and_their_record(tmp_path, capsys):
    out = tmp_path / "weights" / "tiny.pt"
    record = main(["--seed", "2", "--out", str(out), "--num-images", "256", "--epochs", "1"])
    saved = json.loads(out.with_suffix(".json").read_text())
    assert saved == record and saved["sha256"] == file_sha256(out) and saved["seed"] == 2
    assert saved["command"].startswith(COMMAND) and "--seed 2" in saved["command"]
    assert saved["sha256"] in capsys.readouterr().out
    load_tiny_clip(out)  # what the command wrote loads and passes its own checksum
