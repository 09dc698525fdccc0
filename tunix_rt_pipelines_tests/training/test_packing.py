"""Packed batches: whole examples per row, positions restarting per example, and the same loss as
padding (no example attends to another); on only where the model's attention reads packed positions."""

import pytest
import torch
from transformers import DataCollatorForSeq2Seq

from tunix_rt_pipelines.lib.datasets.reader import read_dataset
from tunix_rt_pipelines.lib.models.loading import load_model
from tunix_rt_pipelines.lib.training.data import IGNORE_INDEX, PackingCollator, encode_traces
from tunix_rt_pipelines.lib.training.settings import TrainSettings, packing_active
from tunix_rt_pipelines_tests.testing_utils import REAL_DATASETS

TRACES = read_dataset(REAL_DATASETS / "reasoning-traces-v2").rows[:32]


@pytest.fixture(scope="module")
def model_and_features(tiny_model_dir):
    model, tokenizer = load_model(tiny_model_dir, device="cpu")
    tokenizer.padding_side = "right"
    examples = encode_traces(TRACES, tokenizer, 192).examples
    return model, tokenizer, [{"input_ids": e.input_ids, "labels": e.labels} for e in examples]


def test_rows_hold_whole_examples_with_positions_restarting(model_and_features):
    _, tokenizer, features = model_and_features
    batch = PackingCollator(tokenizer.pad_token_id, 192)(features)
    assert batch["input_ids"].shape[0] < len(features) and batch["input_ids"].shape[1] <= 192
    assert batch["use_cache"] is False
    found = []
    for ids, labels, positions in zip(batch["input_ids"].tolist(), batch["labels"].tolist(), batch["position_ids"].tolist()):
        starts = [i for i, p in enumerate(positions) if p == 0] + [len(ids)]
        for a, b in zip(starts, starts[1:]):
            found.append((ids[a:b], labels[a:b]))
            assert positions[a:b] == list(range(b - a))
    real = [f for f in found if any(t != IGNORE_INDEX for t in f[1])]  # the rest is a row's padding
    assert sorted(map(str, real)) == sorted(str((f["input_ids"], f["labels"])) for f in features)  # each example once, whole


def test_an_example_longer_than_a_row_gets_a_row_of_its_own():
    batch = PackingCollator(0, 4)([{"input_ids": [1, 2, 3, 4, 5, 6], "labels": [-100, 2, 3, 4, 5, 6]},
                                   {"input_ids": [7, 8], "labels": [-100, 8]}])
    assert batch["input_ids"].tolist() == [[1, 2, 3, 4, 5, 6], [7, 8, 0, 0, 0, 0]]
    assert batch["labels"].tolist()[1] == [-100, 8, -100, -100, -100, -100]


def test_the_loss_is_the_padded_batch_loss(model_and_features):
    model, tokenizer, features = model_and_features
    padded = DataCollatorForSeq2Seq(tokenizer, label_pad_token_id=IGNORE_INDEX)([dict(f) for f in features])
    packed = PackingCollator(tokenizer.pad_token_id, 192)(features)
    with torch.no_grad():
        a, b = model(**padded).loss.item(), model(**packed).loss.item()
        leaky = model(**{k: v for k, v in packed.items() if k != "use_cache"}).loss.item()
    assert a == pytest.approx(b, abs=1e-5)
    assert abs(leaky - a) > 1e-4  # with a cache the packed mask is not built: the test can tell the difference


def test_packing_is_on_for_the_builtin_models_only_unless_forced():
    assert TrainSettings().packing == "auto"
    assert packing_active("auto", builtin_base=True) and not packing_active("auto", builtin_base=False)
    assert packing_active("on", builtin_base=False) and not packing_active("off", builtin_base=True)
