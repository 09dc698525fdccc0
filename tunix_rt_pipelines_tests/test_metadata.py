"""What the UI shows people: cells cut to fit, numbers rounded as read, charts at a legible size,
a sample of predictions with their verdict, and checks that say what they tested in every state."""

import struct
from types import SimpleNamespace

import pytest

from tunix_rt_pipelines.defs.evaluation.assets import beats_base_message
from tunix_rt_pipelines.defs.metadata import cell, p_value, predictions_sample, rounded
from tunix_rt_pipelines.defs.registry.assets import gate_check_result
from tunix_rt_pipelines.lib.evaluation.compare import Comparison
from tunix_rt_pipelines.lib.plots import loss_curve
from tunix_rt_pipelines.lib.registry.gate import GateVerdict


@pytest.mark.parametrize("value, limit, expected", [
    ("short", 40, "short"),
    ("x" * 80, 40, "x" * 39 + "…"),  # the 80-character base output that pushed `trained` off-screen
    ("two\nlines", 40, "two ⏎ lines"),
    (12, 40, "12"),
])
def test_cell(value, limit, expected):
    assert cell(value, limit) == expected and len(cell(value, limit)) <= limit


@pytest.mark.parametrize("value, expected", [
    (0.30000000000000004, 0.3),
    (0.123456789, 0.1235),
])
def test_rounded(value, expected):
    assert rounded(value) == expected


@pytest.mark.parametrize("value, expected", [
    (0.000123456, 0.000123),  # small p-values keep their digits, never 0.0
    (0.041234567, 0.0412),
    (1.0, 1.0),
])
def test_p_value(value, expected):
    assert p_value(value) == expected


def test_predictions_sample_shows_the_first_items_with_their_verdict():
    items = [SimpleNamespace(id=f"q{i}", prompt="What is 6 x 7? " * 10, ground_truth="42") for i in range(8)]
    predictions = {"q0": "Answer: 42", "q1": "Answer: 41"}
    table = predictions_sample(items, predictions, limit=3)
    rows = [r.data for r in table.records]
    assert [(r["id"], r["correct"]) for r in rows] == [("q0", True), ("q1", False), ("q2", False)]
    assert rows[2]["prediction"] == "(none)" and all(len(r["prompt"]) <= 40 for r in rows)
    assert [c.name for c in table.schema.columns] == ["id", "prompt", "expected", "prediction", "correct"]


def _png_size(path):
    width, height = struct.unpack(">II", path.read_bytes()[16:24])
    return width, height


def test_charts_are_legible(tmp_path):
    loss_curve([{"step": s, "loss": 2.0 / s} for s in range(1, 11)], tmp_path / "loss.png")
    width, height = _png_size(tmp_path / "loss.png")
    assert width >= 640 and height >= 320
    assert (tmp_path / "loss.png").stat().st_size < 100_000  # it lives in the event log as base64


def _comparison(base, trained, fixed, broken, p):
    return Comparison(base, trained, trained - base, 100, fixed, broken, p, {}, [], [])


@pytest.mark.parametrize("comparison, starts", [
    (_comparison(0.2, 0.5, 32, 2, 1e-7), "trained beats base"),
    (_comparison(0.5, 0.5, 3, 3, 1.0), "trained does not beat base (no gain)"),
    (_comparison(0.5, 0.53, 5, 2, 0.45), "trained does not beat base (the gain is not significant)"),
])
def test_trained_beats_base_says_what_it_tested(comparison, starts):
    message = beats_base_message(comparison)
    assert message.startswith(starts) and "McNemar on 100 paired items" in message


@pytest.mark.parametrize("verdict, says, never", [
    (GateVerdict(True, "no champion yet", None, 0.5), "no McNemar test ran", "Tested: exact"),
    (GateVerdict(False, "forced versions never become champion automatically", None, 0.5), "Not tested", "becomes champion."),
    (GateVerdict(True, "better than champion v1 (delta +0.300, McNemar p=0.0000, 30 fixed / 0 broken)", 1, 0.8, 0.5, 0.3,
                 9.3e-10, 30, 0, 100), "Tested: exact McNemar test on 100 paired items of the primary eval set against champion v1", "Not tested"),
])
def test_beats_champion_says_what_was_and_was_not_tested(verdict, says, never):
    result = gate_check_result("registered_model_beats_champion", verdict.better, verdict.reason, verdict.to_dict())
    assert says in result.description and never not in result.description
    if verdict.p_value is not None:
        assert result.metadata["p_value"].value == 9.3e-10  # rounded to 3 significant figures, not to 0
