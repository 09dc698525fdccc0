"""A failed run says why in the terminal: `tunix-rt run` and `tunix-rt report` print the failing step and its one-line cause.

Contract: a run that fails in a step exits 1 and ends with `error: step <key> failed: <cause>`
(a `dg.Failure`'s description, else the innermost exception as `Type: message`), no stack
anywhere in the terminal; `report` then names the same failure instead of a bare "no result".
"""

from __future__ import annotations

from pathlib import Path

import pytest
from dagster._utils.error import SerializableErrorInfo

from tunix_rt_pipelines.cli.main import main
from tunix_rt_pipelines.defs.terminal_logger import one_line_cause


class _Failed:
    def __init__(self, error=None, description=None):
        self.error = error
        self.user_failure_data = type("U", (), {"description": description})() if description is not None else None


def _error(cls_name: str, message: str, cause=None) -> SerializableErrorInfo:
    return SerializableErrorInfo(message=message, stack=["  File x, line 1"], cls_name=cls_name, cause=cause)


@pytest.mark.parametrize("data, cause", [
    # a dg.Failure: its description, first line only
    (_Failed(_error("Failure", "dagster._core.definitions.events.Failure: boom\n"), "no config.json; save it\nsecond line"),
     "no config.json; save it"),
    # a user exception wrapped by Dagster: the innermost, with its type
    (_Failed(_error("DagsterExecutionStepExecutionError", "Error occurred while executing op x:",
                    _error("ValueError", "ValueError: no training examples: 32 traces\n"))), "ValueError: no training examples: 32 traces"),
    (_Failed(_error("RuntimeError", "")), "RuntimeError"),
    (_Failed(None), "unknown error"),
])
def test_one_line_cause(data, cause):
    assert one_line_cause(data) == cause


def test_a_failed_step_is_named_with_its_cause_in_run_and_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TUNIX_RT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    empty = tmp_path / "my-model"
    empty.mkdir()
    monkeypatch.setenv("TUNIX_RT_BASE_MODEL", str(empty))

    assert main(["run", "--smoke"]) == 1
    out = capsys.readouterr()
    last = out.err.strip().splitlines()[-2:]
    assert last[0] == f"error: step base_checkpoint failed: {empty}: no config.json; save the model with model.save_pretrained(folder)"
    assert last[1].startswith("run ") and "FAILED" in last[1]
    assert "Traceback" not in out.err + out.out and 'File "' not in out.err
    # Launched from the code location, as the UI launches: the run lists under its job there and is terminable.
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        # The UI's per-location filter: the job name and the repository@location label stored with the run.
        (run,) = instance.get_runs(filters=dg.RunsFilter(job_name="base_vs_trained_job",
                                                         tags={".dagster/repository": "__repository__@tunix_rt_pipelines"}))
        assert run.remote_job_origin.location_name == "tunix_rt_pipelines" and ".dagster/grpc_info" in run.tags

    assert main(["report"]) == 1
    err = capsys.readouterr().err.strip()
    assert "FAILED at step base_checkpoint" in err and "no config.json" in err and "\n" not in err
