"""Fuzz of the other entry points: `validate-dataset`, `score`, `registry ...`, sweep configs, base-model folders.

Contract, per case: the documented failure exit code; every message line names the problem
(`FILE:LINE: FIELD: message`, or one `error:` line); no traceback; nothing left behind (the
dataset folder, the registry's rows and files, the models folder are as they were). Together
with test_fuzz_run_config.py this is issue 13's fuzz suite.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import dagster as dg
import pytest
from pydantic import ValidationError

from tunix_rt_pipelines.cli.main import main
from tunix_rt_pipelines.definitions import defs
from tunix_rt_pipelines.defs.run_config import run_config_problems
from tunix_rt_pipelines.lib.datasets.contract import Manifest
from tunix_rt_pipelines.lib.datasets.reader import read_dataset
from tunix_rt_pipelines_tests.testing_utils import REAL_DATASETS

PROBLEM_LINE = re.compile(r"^\S.*:\d+: \S+: .+$")
GOLDEN = read_dataset(REAL_DATASETS / "golden-v1").rows
MANIFEST = json.loads((REAL_DATASETS / "golden-v1" / "manifest.json").read_text())


def _tree(root: Path) -> list[tuple[str, bytes]]:
    return sorted((str(p.relative_to(root)), p.read_bytes() if p.is_file() else b"") for p in root.rglob("*"))


# --- validate-dataset: a manifest field or an items line replaced by something hostile
HOSTILE = [None, "", -1, "100", 1.5, True, [], {}, "x" * 500]


def _manifest_refuses(field: str, value) -> bool:
    try:
        Manifest.model_validate({**MANIFEST, field: value})
    except ValidationError:
        return True
    return False


MANIFEST_CASES = [(f, v) for f in MANIFEST for v in HOSTILE if _manifest_refuses(f, v)]  # e.g. generator: {} is allowed
ITEM_LINES = [b"{bad", b"[]", b"null", b"42", b"\xff\xfe", b"", b"   ", b'{"id": 1}', b'{"id": "x"}',
              json.dumps({**GOLDEN[0].model_dump(), "extra": 1}).encode(), json.dumps({**GOLDEN[0].model_dump(), "prompt": ""}).encode(),
              b'{"id": "\\ud800"}', b"[" * 50_000 + b"]" * 50_000, b'{"id": ' + b"9" * 5000 + b"}", b"\x00" * 10]


@pytest.mark.parametrize("field, value", MANIFEST_CASES, ids=[f"{f}={json.dumps(v)[:12]}" for f, v in MANIFEST_CASES])
def test_validate_dataset_hostile_manifest(field, value, tmp_path, capsys):
    folder = tmp_path / "golden-v1"
    shutil.copytree(REAL_DATASETS / "golden-v1", folder)
    (folder / "manifest.json").write_text(json.dumps({**MANIFEST, field: value}))
    _assert_invalid(folder, capsys, "manifest.json:", field)


@pytest.mark.parametrize("line", ITEM_LINES, ids=[repr(x[:12]) for x in ITEM_LINES])
def test_validate_dataset_hostile_item_line(line, tmp_path, capsys):
    folder = tmp_path / "golden-v1"
    shutil.copytree(REAL_DATASETS / "golden-v1", folder)
    items = (folder / "items.jsonl").read_bytes().split(b"\n")
    (folder / "items.jsonl").write_bytes(b"\n".join([line, *items[1:]]))
    _assert_invalid(folder, capsys, "items.jsonl:1:", None)


def _assert_invalid(folder: Path, capsys, where: str, field: str | None) -> None:
    before = _tree(folder.parent)
    assert main(["validate-dataset", str(folder)]) == 1
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines and all(PROBLEM_LINE.match(line) for line in lines), out
    assert any(where in line and (field is None or f": {field}: " in line or ": <row>: " in line) for line in lines), out
    assert err.strip().endswith("problem(s)") and "Traceback" not in out + err
    assert _tree(folder.parent) == before


# --- score: one hostile line among good predictions
PREDICTION_LINES = [b"{bad", b"[]", b"null", b'"text"', b"\xff", b"", b'{"id": 5, "prediction": "x"}', b'{"id": "nope", "prediction": "x"}',
                    b'{"prediction": "x"}', json.dumps({"id": GOLDEN[0].id}).encode(), json.dumps({"id": GOLDEN[0].id, "prediction": 7}).encode(),
                    json.dumps({"id": GOLDEN[1].id, "prediction": "x", "extra": 1}).encode(),
                    json.dumps({"id": GOLDEN[0].id, "prediction": "dup"}).encode(), b'{"id": "a", "prediction": "\\udfff"}',
                    b"[" * 50_000 + b"]" * 50_000, b'{"id": ' + b"9" * 5000 + b"}"]


@pytest.mark.parametrize("line", PREDICTION_LINES, ids=[repr(x[:12]) for x in PREDICTION_LINES])
def test_score_hostile_prediction_line(line, tmp_path, capsys):
    rows = [json.dumps({"id": g.id, "prediction": f"Answer: {g.ground_truth}"}).encode() for g in GOLDEN]
    path = tmp_path / "p.jsonl"
    path.write_bytes(b"\n".join(rows + [line]) + b"\n")
    assert main(["score", str(path), "--dataset", "golden-v1", "--json"]) == 1
    out, err = capsys.readouterr()
    problems = json.loads(out)["problems"]
    assert any(p.startswith(f"{path}:{len(rows) + 1}: ") for p in problems), problems
    assert all(PROBLEM_LINE.match(p) for p in problems) and "Traceback" not in err
    assert [p.name for p in tmp_path.iterdir()] == ["p.jsonl"]


# --- registry: hostile arguments against an empty registry
REGISTRY_ARGV = [["show", "m", "1"], ["show", "m", "99999999999999999999"], ["show", "Bad Name", "latest"], ["show", "m", ""],
                 ["show", "m", "\x00"], ["export", "m", "1", "{tmp}/out"], ["export", "m", "champion", "/dev/null"],
                 ["alias", "m", "champion", "1"], ["alias", "m", "latest", "1"], ["promote", "{tmp}/none", "--name", "m"],
                 ["promote", "{tmp}", "--name", "Bad Name"], ["promote", "{tmp}", "--name", "m", "--evaluation", "{tmp}/none.json"],
                 ["list", "--name", "x" * 500], ["leaderboard", "--name", "../etc"]]
REGISTRY_USAGE = [["list", "--limit", "-1"], ["list", "--offset", "1e3"], ["list", "--offset", str(2**64)], ["leaderboard", "--limit", "1001"],
                  ["show"], ["export", "m"], ["nonsense"]]


@pytest.fixture
def empty_registry(tmp_path, monkeypatch):
    monkeypatch.setenv("TUNIX_RT_REGISTRY_URL", f"sqlite:///{tmp_path / 'registry.db'}")
    monkeypatch.setenv("TUNIX_RT_REGISTRY_STORE", str(tmp_path / "store"))
    return tmp_path


@pytest.mark.parametrize("argv", REGISTRY_ARGV, ids=[" ".join(a)[:30] for a in REGISTRY_ARGV])
def test_registry_hostile_arguments(argv, empty_registry, capsys):
    tmp = empty_registry
    assert main(["registry", *(a.replace("{tmp}", str(tmp)) for a in argv)]) == 1
    out, err = capsys.readouterr()
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "Traceback" not in out + err
    assert not (tmp / "out").exists() and not (tmp / "store").exists() or not any((tmp / "store").rglob("*.safetensors"))


@pytest.mark.parametrize("argv", REGISTRY_USAGE, ids=[" ".join(a)[:30] for a in REGISTRY_USAGE])
def test_registry_usage_errors(argv, empty_registry, capsys):
    with pytest.raises(SystemExit) as info:
        main(["registry", *argv])
    err = capsys.readouterr().err
    assert info.value.code == 2 and "error:" in err.splitlines()[-1] and "Traceback" not in err


# --- sweep configs: refused by the same check the launchpad and the CLI run
SPACES = [{}, {"learning_rate": 1}, {"learning_rate": {"type": "grid"}}, {"learning_rate": {"type": "choice", "values": []}},
          {"learning_rate": {"type": "choice", "values": [0.1, 0.1]}}, {"learning_rate": {"type": "uniform", "min": 1, "max": 0}},
          {"learning_rate": {"type": "loguniform", "min": 0, "max": 1}}, {"learning_rate": {"type": "uniform", "min": 0, "max": 5}},
          {"batch_size": {"type": "uniform", "min": 1, "max": 4}}, {"batch_size": {"type": "randint", "min": 0, "max": 4}},
          {"batch_size": {"type": "quniform", "min": 1, "max": 9, "q": 2}}, {"device": {"type": "choice", "values": ["cpu"]}},
          {"nope": {"type": "choice", "values": [1]}}, {"lr_scheduler": {"type": "choice", "values": ["cosine", "bogus"]}},
          {"max_seq_length": {"type": "choice", "values": [8, 160]}}, {"learning_rate": {"type": "choice", "values": [0.1], "extra": 1}}]
SWEEP_FIELDS = [{"num_samples": 0}, {"num_samples": 10**6}, {"seed": -1}, {"cpus_per_trial": 0}, {"gpus_per_trial": -1},
                {"max_concurrent_trials": 0}, {"sweep_id": "../x"}, {"metric": "accuracy"}, {"mode": "min"},
                {"num_samples": 3, "search_space": {"batch_size": {"type": "choice", "values": [16, 32]}}},
                {"training": {"learning_rate": 0}}, {"inference": {"max_new_tokens": 0}}]
SWEEP_CASES = [{"search_space": s} for s in SPACES] + SWEEP_FIELDS


@pytest.mark.parametrize("config", SWEEP_CASES, ids=[json.dumps(c)[:40] for c in SWEEP_CASES])
def test_sweep_hostile_configs(config):
    job = defs.resolve_job_def("sweep_job")
    run_config = {"ops": {"tuning_sweep": {"config": config}}}
    problems = run_config_problems(job, run_config)
    assert problems and all(p.count("\n") == 0 and "ops.tuning_sweep.config" in p for p in problems), problems
    with pytest.raises(dg.DagsterInvalidConfigError):  # the launchpad's path: refused before a run exists
        dg.validate_run_config(job, run_config)
