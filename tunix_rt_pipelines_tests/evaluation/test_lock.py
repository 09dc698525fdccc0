"""The evaluation lock: answer_correctness@v1 cannot change without a version bump.

Contract: the committed lock matches the live spec; changing ANY leaf of `SPEC`, or code that
changes what the metric answers, changes `spec_sha256` and fails `check_lock` with a message
naming the fix (bump `METRIC_VERSION`, run `PIN_COMMAND`); `pin` refuses to re-pin a changed
spec under the same version and pins it once the version is bumped. No test writes the real
lock file or docs/evaluation.md (the autouse guard below fails any test that does).
"""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tunix_rt_pipelines.cli.main import main
from tunix_rt_pipelines.lib.evaluation import lock, metrics, spec
from tunix_rt_pipelines.lib.evaluation.lock import PIN_COMMAND, PinRefused, check_lock, pin, spec_sha256
from tunix_rt_pipelines.lib.evaluation.spec import SPEC
from tunix_rt_pipelines_tests.testing_utils import REPO_ROOT

REAL_LOCK = lock.LOCK_FILE
REAL_DOC = REPO_ROOT / lock.DOC_FILE  # `pin-evaluation` also rewrites the spec block of docs/evaluation.md


@pytest.fixture(autouse=True)
def _committed_files_untouched() -> Iterator[None]:
    before = {path: path.read_bytes() for path in (REAL_LOCK, REAL_DOC)}
    yield
    for path, content in before.items():
        assert path.read_bytes() == content, f"a test wrote the committed {path.name}"


@pytest.fixture
def lock_copy(tmp_path: Path) -> Path:
    target = tmp_path / "answer_correctness.lock.json"
    shutil.copyfile(REAL_LOCK, target)
    return target


def _leaves(node: Any, path: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _leaves(value, (*path, index))
    else:
        yield path, node


# A plausible alternative for every string rule (a typo'd value would crash, not drift).
STRING_EDITS: dict[tuple, str] = {
    ("metric",): "answer_exactness",
    ("extraction", "marker"): "Final answer:",
    ("extraction", "occurrence"): "first",
    ("extraction", "until"): "end_of_text",
    ("extraction", "fallback"): "none",
    ("normalization", "unicode_form"): "NFC",
    ("normalization", "strip_surrounding", 0): "«",
    ("normalization", "strip_surrounding", 1): "»",
    ("normalization", "strip_surrounding", 2): "*",
    ("normalization", "strip_trailing"): ".!?",
    ("numeric", "strip_leading"): "€",
    ("numeric", "thousands_separator"): "_",
    ("numeric", "pattern"): r"^[+-]?\d+(\.\d+)?$",
    ("numeric", "compare_as"): "float",
    ("failure_handling", "missing", "reason"): "no_prediction",
    ("failure_handling", "empty", "reason"): "blank",
    ("aggregation", "mean_over"): "predicted_items",
    ("aggregation", "interval", "method"): "wald",
    ("aggregation", "breakdowns", 0): "family",
    ("aggregation", "breakdowns", 1): "level",
    ("best", "order", 0, 0): "accuracy",
    ("best", "order", 0, 1): "asc",
    ("best", "order", 1, 0): "ci95_high",
    ("best", "order", 1, 1): "asc",
    ("best", "order", 2, 0): "params",
    ("best", "order", 2, 1): "asc",
    ("best", "order", 3, 0): "updated_at",
    ("best", "order", 3, 1): "desc",
}
RULE_LEAVES = [path for path, _ in _leaves(SPEC) if path != ("version",)]  # the version IS the bump


def _edited(value: Any, path: tuple) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value - 0.05 if value > 0.5 else value + 0.05
    return STRING_EDITS[path]


def _set(tree: dict, path: tuple, value: Any) -> None:
    node = tree
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value


def _drifted(path: tuple) -> dict:
    changed = copy.deepcopy(SPEC)
    node = changed
    for part in path:
        node = node[part]
    _set(changed, path, _edited(node, path))
    return changed


def test_the_committed_lock_matches_the_live_spec() -> None:
    status = check_lock()
    assert status.passed, status.message
    assert status.pinned == status.live
    assert json.loads(REAL_LOCK.read_text()) == {"metric": spec.METRIC_NAME, "version": spec.METRIC_VERSION, "sha256": spec_sha256()}


def test_every_string_rule_has_an_edit_and_no_edit_is_stale() -> None:
    string_leaves = {path for path, value in _leaves(SPEC) if isinstance(value, str)}
    assert string_leaves == set(STRING_EDITS)


@pytest.mark.parametrize("path", RULE_LEAVES, ids=lambda p: ".".join(map(str, p)))
def test_changing_any_rule_without_a_bump_fails_the_lock(path: tuple, lock_copy: Path) -> None:
    drifted = _drifted(path)
    assert spec_sha256(drifted) != spec_sha256(SPEC)

    status = check_lock(drifted, lock_copy)

    assert not status.passed
    assert status.live.version == status.pinned.version == spec.METRIC_VERSION
    assert "METRIC_VERSION" in status.message and PIN_COMMAND in status.message


def _with(section: str, key: str, value: Any, original: Any) -> Any:
    """`original` (a metrics function) rewritten to ignore one rule: a code change, not a spec change."""
    return lambda first, spec=SPEC: original(first, {**spec, section: {**spec[section], key: value}})


@pytest.mark.parametrize(
    ("target", "replacement"),
    [
        ("normalize", _with("normalization", "casefold", False, metrics.normalize)),          # forgets case-folding
        ("normalize", _with("normalization", "strip_trailing", ".", metrics.normalize)),      # keeps "!", "?", ";"
        ("as_number", _with("numeric", "thousands_separator", "", metrics.as_number)),        # "1,000" no longer a number
        ("extract_answer", _with("extraction", "occurrence", "first", metrics.extract_answer)),  # the FIRST marker wins
    ],
    ids=["no-casefold", "fewer-trailing", "no-thousands", "first-marker"],
)
def test_a_behaviour_change_in_code_changes_the_hash_and_fails_the_lock(
    target: str, replacement: Any, monkeypatch: pytest.MonkeyPatch, lock_copy: Path
) -> None:
    before = spec_sha256(SPEC)
    monkeypatch.setattr(metrics, target, replacement)  # the spec dict itself is untouched

    assert spec_sha256(SPEC) != before
    status = check_lock(SPEC, lock_copy)
    assert not status.passed
    assert "METRIC_VERSION" in status.message and PIN_COMMAND in status.message


def test_a_change_to_the_statistics_changes_the_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    before = spec_sha256(SPEC)
    monkeypatch.setattr(lock, "wilson_interval", lambda c, n, confidence=0.95: (c / n, c / n))  # a zero-width "interval"
    assert spec_sha256(SPEC) != before


def test_a_missing_lock_fails_and_says_how_to_pin(tmp_path: Path) -> None:
    status = check_lock(SPEC, tmp_path / "none.lock.json")
    assert not status.passed and status.pinned is None
    assert PIN_COMMAND in status.message


def test_a_lock_with_another_version_asks_for_a_re_pin(tmp_path: Path) -> None:
    bumped = copy.deepcopy(SPEC)
    bumped["version"] = spec.METRIC_VERSION + 1
    path = tmp_path / "lock.json"
    shutil.copyfile(REAL_LOCK, path)
    status = check_lock(bumped, path)
    assert not status.passed
    assert f"v{spec.METRIC_VERSION} is pinned" in status.message and PIN_COMMAND in status.message


def test_pin_refuses_a_changed_spec_under_the_same_version(lock_copy: Path) -> None:
    before = lock_copy.read_bytes()
    with pytest.raises(PinRefused, match="METRIC_VERSION"):
        pin(_drifted(("normalization", "casefold")), lock_copy)
    assert lock_copy.read_bytes() == before


def test_pin_after_a_bump_writes_the_new_lock_and_then_passes(lock_copy: Path) -> None:
    bumped = _drifted(("normalization", "casefold"))
    bumped["version"] = spec.METRIC_VERSION + 1

    pinned = pin(bumped, lock_copy)

    assert json.loads(lock_copy.read_text()) == {"metric": spec.METRIC_NAME, "version": spec.METRIC_VERSION + 1, "sha256": spec_sha256(bumped)}
    assert pinned.sha256 == spec_sha256(bumped)
    assert check_lock(bumped, lock_copy).passed
    assert not check_lock(SPEC, lock_copy).passed  # v1 no longer matches the pinned v2


def test_pin_writes_a_missing_lock_and_leaves_a_matching_one_alone(tmp_path: Path) -> None:
    path = tmp_path / "new.lock.json"
    pin(SPEC, path)
    assert path.read_bytes() == REAL_LOCK.read_bytes()  # same format as the committed file
    mtime = path.stat().st_mtime_ns
    pin(SPEC, path)
    assert path.stat().st_mtime_ns == mtime


def test_pin_evaluation_cli_refuses_a_drift_and_pins_a_bump(
    lock_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    doc_copy = tmp_path / "evaluation.md"
    shutil.copyfile(REAL_DOC, doc_copy)
    monkeypatch.setattr(lock, "LOCK_FILE", lock_copy)
    monkeypatch.setattr(lock, "DOC_FILE", doc_copy)
    assert main(["pin-evaluation"]) == 0  # unchanged spec: nothing to do, still exit 0
    assert "pinned answer_correctness@v1" in capsys.readouterr().out

    monkeypatch.setitem(SPEC["normalization"], "casefold", False)
    assert main(["pin-evaluation"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "METRIC_VERSION" in err and err.count("\n") == 1

    monkeypatch.setitem(SPEC, "version", spec.METRIC_VERSION + 1)
    assert main(["pin-evaluation"]) == 0
    assert json.loads(lock_copy.read_text())["version"] == spec.METRIC_VERSION + 1
    assert f"**answer_correctness@v{spec.METRIC_VERSION + 1}**" in doc_copy.read_text()  # the doc follows the pin
