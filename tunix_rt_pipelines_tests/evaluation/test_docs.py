"""docs/evaluation.md stays in step with the code: its generated block is exactly the live spec
and pinned hash, and its prose names every rule parameter the implementation reads."""

import json
import re

from tunix_rt_pipelines.lib.evaluation import lock
from tunix_rt_pipelines.lib.evaluation.spec import SPEC, metric_id
from tunix_rt_pipelines_tests.testing_utils import REPO_ROOT

DOC = (REPO_ROOT / lock.DOC_FILE).read_text()


def test_generated_block_is_the_live_spec_and_pinned_hash():
    assert lock.render_doc_block() in DOC, "run `uv run tunix-rt pin-evaluation` to regenerate docs/evaluation.md"
    block = DOC[DOC.index(lock.DOC_BEGIN):DOC.index(lock.DOC_END)]
    assert json.loads(re.search(r"```json\n(.*?)\n```", block, re.S).group(1)) == SPEC
    assert lock.read_lock().sha256 in block


def test_prose_states_every_rule_parameter():
    prose = DOC[: DOC.index(lock.DOC_BEGIN)]
    assert prose.startswith(f"# {metric_id()}")
    rules = SPEC["extraction"], SPEC["normalization"], SPEC["numeric"]
    assert rules[0]["marker"] in prose and "**last**" in prose and "last non-empty line" in prose
    assert rules[1]["unicode_form"] in prose and "case-folding" in prose
    for char in rules[1]["strip_trailing"]:
        assert f"`{char}`" in prose
    for quote in rules[1]["strip_surrounding"]:
        assert quote in prose
    assert f"`{rules[2]['strip_leading']}`" in prose and f"`{rules[2]['thousands_separator']}` thousands" in prose
    for failure in SPEC["failure_handling"].values():
        assert f"`{failure['reason']}`" in prose
    assert "Wilson" in prose and f"{int(SPEC['aggregation']['interval']['confidence'] * 100)}%" in prose
    assert lock.PIN_COMMAND in prose


def test_update_doc_rewrites_only_the_generated_block(tmp_path, monkeypatch):
    copy = tmp_path / "evaluation.md"
    copy.write_text(DOC.replace("sha256 `", "sha256 `stale", 1))
    assert lock.update_doc(copy) is True
    assert copy.read_text() == DOC
    assert lock.update_doc(copy) is False  # idempotent
