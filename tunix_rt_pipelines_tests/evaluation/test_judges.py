"""The judge interface and the judges' locks.

Contract: answer_correctness behind the `Judge` interface gives exactly `score_item`'s results and
hashes to the committed lock (wrapping it moved nothing); llm_judge@v1's committed lock matches
the default judge (builtin:tiny, local); editing the rubric, the parser or the judge model
without a version bump fails the lock with the fix named, and `pin_judge` refuses to re-pin it
until the version is bumped. No test writes a committed lock.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tunix_rt_pipelines.lib.datasets.reader import read_dataset
from tunix_rt_pipelines.lib.evaluation import llm_judge, lock
from tunix_rt_pipelines.lib.evaluation.judges import AnswerCorrectnessJudge, Judge, judge_id
from tunix_rt_pipelines.lib.evaluation.llm_judge import ContainsAnswerBackend, LlmJudge
from tunix_rt_pipelines.lib.evaluation.metrics import score_dataset
from tunix_rt_pipelines.lib.inference.judge_settings import JudgeSettings, build_judge
from tunix_rt_pipelines_tests.testing_utils import REAL_DATASETS

LLM_LOCK = lock.lock_file("llm_judge")


@pytest.fixture(autouse=True)
def _committed_locks_untouched():
    before = {p: p.read_bytes() for p in (lock.LOCK_FILE, LLM_LOCK)}
    yield
    assert {p: p.read_bytes() for p in before} == before, "a test wrote a committed lock"


@pytest.fixture(scope="module")
def default_judge(tmp_path_factory: pytest.TempPathFactory) -> LlmJudge:
    return build_judge(JudgeSettings(), tmp_path_factory.mktemp("judge_models"))


def test_answer_correctness_judge_is_the_metric_unchanged():
    golden = read_dataset(REAL_DATASETS / "golden-v1").rows
    # A mix of right, wrong, paraphrased and missing predictions (every 7th item has none).
    predictions = {i.id: [f"Answer: {i.ground_truth}", "Answer: 0", f"it is {i.ground_truth}"][n % 3]
                   for n, i in enumerate(golden) if n % 7}
    judge = AnswerCorrectnessJudge()
    verdicts = judge.judge(golden, predictions)
    report = score_dataset(golden, predictions)

    assert isinstance(judge, Judge) and judge_id(judge) == "answer_correctness@v1"
    assert [(v.id, v.correct, v.reason, v.raw) for v in verdicts] == [(r.id, r.correct, r.reason, r.extracted) for r in report.items]
    assert [v.score for v in verdicts] == [float(r.correct) for r in report.items]
    assert judge.spec_sha256() == lock.read_lock().sha256 == "cb96a782a3a36fc2ca9a73836212a181a1db43a3c647b6345a605930596be469"
    assert lock.check_judge_lock(judge).passed


def test_the_default_llm_judge_matches_its_committed_lock(default_judge: LlmJudge):
    status = lock.check_judge_lock(default_judge)
    assert status.passed, status.message
    assert default_judge.spec()["model"] == {"backend": "local", "model": "builtin:tiny"}


@pytest.mark.parametrize("edit", [
    pytest.param(lambda mp: mp.setattr(llm_judge, "RUBRIC", llm_judge.RUBRIC.replace("Grade", "Judge")), id="rubric-wording"),
    pytest.param(lambda mp: mp.setattr(llm_judge, "VERDICT_LINE", llm_judge.VERDICT_LINE.replace(r"[.!]?", "")), id="parser-rule"),
    # Same rule text, different behaviour: the parse probes catch a code change.
    pytest.param(lambda mp: mp.setattr(llm_judge, "parse_reply", lambda reply: ("correct", "")), id="parser-code"),
])
def test_editing_the_judge_without_a_version_bump_fails_the_lock(monkeypatch: pytest.MonkeyPatch, default_judge: LlmJudge, edit):
    edit(monkeypatch)
    status = lock.check_judge_lock(default_judge)

    assert not status.passed
    assert "llm_judge@v1 drifted" in status.message and "LLM_JUDGE_VERSION" in status.message and lock.PIN_COMMAND in status.message


def test_another_judge_model_is_another_judge(default_judge: LlmJudge):
    rule = LlmJudge(ContainsAnswerBackend())
    assert rule.spec_sha256() != default_judge.spec_sha256()
    assert not lock.check_judge_lock(rule).passed


def test_pin_judge_refuses_a_changed_judge_until_its_version_is_bumped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = tmp_path / "llm_judge.lock.json"
    shutil.copyfile(LLM_LOCK, path)
    rule = LlmJudge(ContainsAnswerBackend())
    with pytest.raises(lock.PinRefused, match="bump LLM_JUDGE_VERSION"):
        lock.pin_judge(rule, path)
    assert path.read_bytes() == LLM_LOCK.read_bytes()

    monkeypatch.setattr(LlmJudge, "version", 2)
    pinned = lock.pin_judge(rule, path)
    assert (pinned.version, pinned.sha256) == (2, rule.spec_sha256())
    assert lock.check_judge_lock(rule, path).passed


def test_pin_evaluation_refuses_another_judge_model_under_v1(capsys: pytest.CaptureFixture[str]):
    from tunix_rt_pipelines.cli.main import main

    assert main(["pin-evaluation"]) == 0  # both locks match: nothing written
    assert "pinned llm_judge@v1 at a5668ae4f52c" in capsys.readouterr().out
    assert main(["pin-evaluation", "--judge-backend", "rule"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: llm_judge@v1 changed but its version did not") and "LLM_JUDGE_VERSION" in err and err.count("\n") == 1
