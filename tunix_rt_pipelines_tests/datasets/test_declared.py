"""`tunix_rt.yaml`: which datasets a project uses, declared; errors name the file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tunix_rt_pipelines.lib.datasets.declared import DeclarationError, DeclaredDatasets, asset_name, read_declaration


def parse_declaration(text: str, tmp_path: Path) -> DeclaredDatasets:
    (tmp_path / "p.yaml").write_text(text)
    return read_declaration(tmp_path / "p.yaml")


def test_no_declaration_means_the_built_in_sets(tmp_path: Path):
    assert read_declaration(tmp_path / "absent.yaml") == DeclaredDatasets(eval_sets=["golden-v1"], training_set="reasoning-traces-v2")
    assert parse_declaration("", tmp_path).extra_eval_sets == [] and parse_declaration("datasets:\n", tmp_path).extra_eval_sets == []


def test_further_eval_sets_follow_the_primary(tmp_path: Path):
    declared = parse_declaration("datasets:\n  eval_sets: [golden-v1, my-evals-v1, other-v2]\n  training_set: my-traces-v1\n", tmp_path)
    assert declared.extra_eval_sets == ["my-evals-v1", "other-v2"] and declared.training_set == "my-traces-v1"
    assert [asset_name(k) for k in declared.eval_sets] == ["golden_v1", "my_evals_v1", "other_v2"]


def test_another_primary_set_may_be_declared_and_golden_may_follow_it(tmp_path: Path):
    declared = parse_declaration("datasets:\n  eval_sets: [my-evals-v1, golden-v1, other-v2]\n", tmp_path)
    assert declared.primary == "my-evals-v1" and declared.extra_eval_sets == ["golden-v1", "other-v2"]
    assert declared.non_golden_sets == ["my-evals-v1", "other-v2"]  # golden_v1's asset exists anyway (the judge's calibration)
    alone = parse_declaration("datasets:\n  eval_sets: [my-evals-v1]\n", tmp_path)
    assert (alone.primary, alone.extra_eval_sets, alone.non_golden_sets) == ("my-evals-v1", [], ["my-evals-v1"])
    assert DeclaredDatasets().primary == "golden-v1" and DeclaredDatasets().non_golden_sets == []


@pytest.mark.parametrize(("text", "expected"), [
    ("datasets:\n  eval_sets: [golden-v1\n", r"p\.yaml:3:1: YAML syntax error"),
    ("- golden-v1\n", r"p\.yaml: the top level is a list, not a mapping"),
    ("datasets:\n  eval_sets: [golden-v1]\n  eval_sets: [golden-v1, x-v1]\n", r"p\.yaml:3:3: key 'eval_sets' is given twice"),
    ("dataset:\n  eval_sets: [golden-v1]\n", r"p\.yaml: unknown top-level key\(s\) dataset; this file holds `datasets:`$"),
    ("datasets:\n  eval_sets: [golden-v1, golden-v1]\n", r"an eval set is listed twice"),
    ("datasets:\n  eval_sets: [golden-v1, reasoning-traces-v2]\n", r"declared both as an eval set and as the training set"),
    ("datasets:\n  eval_sets: [golden-v1, My_Set]\n", r"p\.yaml: datasets\.eval_sets\.1: String should match pattern"),
    ("datasets:\n  eval_sets: []\n", r"p\.yaml: datasets\.eval_sets: List should have at least 1 item"),
    ("datasets:\n  eval_set: [golden-v1]\n", r"p\.yaml: datasets\.eval_set: Extra inputs are not permitted"),
])
def test_a_declaration_that_cannot_be_used_says_where_and_why(text, expected, tmp_path: Path):
    with pytest.raises(DeclarationError, match=expected):
        parse_declaration(text, tmp_path)
