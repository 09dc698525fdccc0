"""Contract of `tunix-rt registry ...`: list/leaderboard page and print JSON; show and export
resolve versions and aliases; export verifies and refuses a non-empty destination or a tampered
copy; promote applies the same guards as the pipeline; production needs an explicit migrate;
every failure is one `error:` line and exit 1, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tunix_rt_pipelines.cli.main import main
from tunix_rt_pipelines.lib.registry.promote import promote
from tunix_rt_pipelines.lib.registry.registry import open_registry
from tunix_rt_pipelines_tests.registry.factories import DATASETS, NAME, make_candidate, make_eval_set, make_evaluation


@pytest.fixture
def cli_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The registry the CLI finds through the environment, with three versions (v3 champion)."""
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    monkeypatch.setenv("TUNIX_RT_REGISTRY_URL", url)
    monkeypatch.setenv("TUNIX_RT_REGISTRY_STORE", str(tmp_path / "store"))
    registry = open_registry(url, tmp_path / "store", DATASETS)
    for seed, correct in ((1, 20), (2, 25), (3, 70)):
        promote(registry, make_candidate(tmp_path, seed=seed, correct=correct))
    yield registry
    registry.close()


def cli(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    code = main(["registry", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_list_pages_and_prints_json(cli_registry, capsys):
    code, out, _ = cli(capsys, "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "VERSION", "ALIASES", "SCORE", "CI95", "N", "DATASET", "FORCED", "SHA256", "CREATED"]
    assert [line.split()[1] for line in lines[1:4]] == ["3", "2", "1"]  # newest first
    assert "champion" in lines[1] and lines[-1] == "rows 1-3 of 3"
    code, out, _ = cli(capsys, "list", "--name", NAME, "--limit", "1", "--offset", "1", "--json")
    page = json.loads(out)
    assert (code, page["total"], page["limit"], page["offset"], [i["version"] for i in page["items"]]) == (0, 3, 1, 1, [2])
    assert page["items"][0]["sha256"] == cli_registry.get(NAME, 2).sha256
    assert cli(capsys, "list", "--offset", "9")[1].strip() == "no versions at offset 9 (3 in total)"


def test_leaderboard_ranks_and_pages(cli_registry, capsys):
    code, out, _ = cli(capsys, "leaderboard", "--limit", "2")
    rows = out.splitlines()
    assert code == 0 and [r.split()[:3] for r in rows[1:3]] == [["1", NAME, "3"], ["2", NAME, "2"]] and rows[-1] == "rows 1-2 of 3"
    page = json.loads(cli(capsys, "leaderboard", "--offset", "2", "--json")[1])
    assert [(r["rank"], r["version"], r["score"]) for r in page["items"]] == [(3, 1, 0.2)]


def test_show_by_version_alias_or_latest(cli_registry, capsys):
    code, out, _ = cli(capsys, "show", NAME, "champion")
    assert code == 0 and out.startswith(f"{NAME} v3  (aliases: champion)")
    assert "score      0.700 (70/100), 95% CI [" in out and "addition" in out
    assert json.loads(cli(capsys, "show", NAME, "latest", "--json")[1])["version"] == 3
    assert json.loads(cli(capsys, "show", NAME, "v1", "--json")[1])["score"] == 0.2


@pytest.mark.parametrize(("argv", "message"), [
    (["show", "nope", "1"], "error: no model named 'nope' in the registry (known: tunix-rt-test)"),
    (["show", NAME, "9"], "error: tunix-rt-test has no version or alias '9': versions 1..3, aliases: champion -> v3, or latest"),
    (["export", NAME, "prod", "out"], "error: tunix-rt-test has no version or alias 'prod'"),
    (["list", "--name", "nope"], "error: no model named 'nope'"),
])
def test_unknown_names_and_versions_are_one_clear_line(cli_registry, capsys, argv: list[str], message: str):
    code, out, err = cli(capsys, *argv)
    assert (code, out) == (1, "")
    assert err.startswith(message) and err.count("\n") == 1


def test_export_verifies_and_refuses_what_it_must(cli_registry, capsys, tmp_path: Path):
    version = cli_registry.get(NAME, "champion")
    code, out, _ = cli(capsys, "export", NAME, "champion", str(tmp_path / "out"))
    assert code == 0 and out.strip().endswith(f"sha256 {version.sha256} verified")
    code, _, err = cli(capsys, "export", NAME, "3", str(tmp_path / "out"))  # now not empty
    assert code == 1 and "exists and is not an empty folder" in err
    (cli_registry.artifact_path(version) / "config.json").write_text("{}")
    code, _, err = cli(capsys, "export", NAME, "3", str(tmp_path / "out2"))
    assert code == 1 and "modified outside the registry" in err and not (tmp_path / "out2").exists()


def test_promote_applies_the_pipeline_guards(cli_registry, capsys, tmp_path: Path):
    candidate = make_candidate(tmp_path, seed=7, correct=95)
    args = ["promote", candidate.checkpoint_path, "--evaluation", candidate.evaluation_path, "--name", NAME, "--run-id", "r7"]
    code, _, err = cli(capsys, *args, "--run-failed")
    assert code == 1 and "[run] run r7 that produced cli failed" in err
    code, out, _ = cli(capsys, *args)
    assert code == 0 and out.startswith(f"registered {NAME} v4") and "champion: v3 -> v4" in out
    code, out, _ = cli(capsys, *args)
    assert code == 0 and out.startswith(f"already registered as {NAME} v4")
    other = make_candidate(tmp_path, seed=8)
    code, out, _ = cli(capsys, "promote", other.checkpoint_path, "--name", NAME, "--force")  # no evaluation at all
    assert code == 0 and "v5" in out and "forced over" in out
    assert cli_registry.get(NAME, 5).forced and cli_registry.aliases(NAME) == {"champion": 4}
    code, _, err = cli(capsys, "promote", str(tmp_path / "missing"), "--name", NAME, "--force")
    assert code == 1 and "not a folder" in err


def test_alias_moves_by_hand(cli_registry, capsys):
    code, out, _ = cli(capsys, "alias", NAME, "champion", "1", "--reason", "rollback")
    assert (code, out.strip()) == (0, f"{NAME} champion: v3 -> v1")
    assert cli_registry.alias_history(NAME)[-1]["reason"] == "rollback"


def test_production_needs_a_url_and_an_explicit_migrate(capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TUNIX_RT_ENV", "prod")
    monkeypatch.delenv("TUNIX_RT_REGISTRY_URL", raising=False)
    code, _, err = cli(capsys, "list")
    assert code == 1 and err.startswith("error: $TUNIX_RT_REGISTRY_URL is not set; in production the registry is PostgreSQL")
    monkeypatch.setenv("TUNIX_RT_REGISTRY_URL", f"sqlite:///{tmp_path / 'prod.db'}")
    code, _, err = cli(capsys, "list")
    assert code == 1 and "is empty, this code needs 0005; run `tunix-rt registry migrate`" in err
    code, out, _ = cli(capsys, "migrate")
    assert code == 0 and out.strip().endswith("schema empty -> 0005")
    assert cli(capsys, "migrate")[1].strip().endswith("schema already at 0005")
    assert cli(capsys, "list")[:2] == (0, "no versions registered\n")


@pytest.mark.parametrize("argv, words", [
    (["show", NAME, "99999999999999999999"], ["has no version or alias '99999999999999999999'", "versions 1..3"]),
    (["show", NAME, "v" + "9" * 30], ["has no version or alias"]),
    (["show", NAME, "²"], ["has no version or alias '²'"]),  # a Unicode digit is not a version number
])
def test_huge_or_odd_version_numbers_are_unknown_versions(cli_registry, capsys, argv, words):
    code, _, err = cli(capsys, *argv)
    assert code == 1 and err.startswith("error: ") and err.count("\n") == 1
    assert all(w in err for w in words), err


@pytest.mark.parametrize("argv, words", [
    (["list", "--offset", str(2**63)], ["--offset: must be 0..9223372036854775807"]),
    (["list", "--limit", "0"], ["--limit: must be 1..1000"]),
    (["leaderboard", "--limit", str(10**30)], ["--limit: must be 1..1000"]),
    (["list", "--offset", "ten"], ["--offset: 'ten' is not a whole number"]),
])
def test_paging_arguments_are_range_checked(cli_registry, capsys, argv, words):
    with pytest.raises(SystemExit) as info:
        main(["registry", *argv])
    err = capsys.readouterr().err
    assert info.value.code == 2 and "Traceback" not in err
    assert all(w in err for w in words), err


@pytest.mark.parametrize("url, words", [
    ("garbage", ["registry URL ($TUNIX_RT_REGISTRY_URL) cannot be used: it is not a database URL", "postgresql://USER:PASSWORD@HOST"]),
    ("postgresql://me:hunter2@db:port/x", ["the port is not a number"]),
    ("mysql://me:hunter2@db/x", ["unsupported registry URL mysql://me:***@db/x"]),
    ("not-a-db", ["file is not a database", "point it at a registry database"]),
])
def test_a_bad_registry_url_names_the_setting_and_never_the_password(tmp_path, monkeypatch, capsys, url, words):
    if url == "not-a-db":
        (tmp_path / "notes.txt").write_text("these are my notes, not a database\n" * 10)
        url = f"sqlite:///{tmp_path / 'notes.txt'}"
    monkeypatch.setenv("TUNIX_RT_REGISTRY_URL", url)
    code, _, err = cli(capsys, "list")
    assert code == 1 and err.startswith("error: ") and err.count("\n") == 1, err
    assert "hunter2" not in err and "sqlalche.me" not in err
    assert all(w in err for w in words), err


def test_promote_records_further_eval_sets_and_the_leaderboard_shows_them(cli_registry, capsys, tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch):
    datasets = tmp_path / "datasets"
    further_set = ("my-evals-v1", *make_eval_set(datasets, "my-evals-v1", 20))
    monkeypatch.setenv("TUNIX_RT_DATASETS_DIR", str(datasets))  # where the further set's manifest pins its hash
    candidate = make_candidate(tmp_path, seed=7, correct=80)
    further = make_evaluation(tmp_path / "eval-7-my", candidate.checkpoint_sha256, 15, further_set)
    elsewhere = make_evaluation(tmp_path / "eval-8-my", make_candidate(tmp_path, seed=8).checkpoint_sha256, 15, further_set)
    code, _, err = cli(capsys, "promote", candidate.checkpoint_path, "--evaluation", candidate.evaluation_path, "--name", NAME,
                       "--further-evaluation", str(elsewhere.path))  # scored another checkpoint: refused, one clear error
    assert code == 1 and err.startswith("error: refused to promote") and "[eval_sets] my-evals-v1: the evaluation scored model" in err
    assert "Traceback" not in err and cli_registry.versions().total == 3
    code, out, err = cli(capsys, "promote", candidate.checkpoint_path, "--evaluation", candidate.evaluation_path, "--name", NAME,
                         "--further-evaluation", str(further.path))
    assert code == 0 and out.startswith(f"registered {NAME} v4"), err
    assert [(s.dataset_key, s.score) for s in cli_registry.get(NAME, 4).eval_sets] == [("golden-v1", 0.8), ("my-evals-v1", 0.75)]
    code, out, _ = cli(capsys, "leaderboard", "--limit", "2")
    header, first, second = out.splitlines()[:3]
    assert header.split() == ["RANK", "NAME", "VERSION", "SCORE", "CI95", "N", "DATASET", "DATASET_SHA256", "SCORE:MY-EVALS-V1",
                              "EVALUATOR", "ALIASES", "FORCED"]
    assert first.split()[2:4] == ["4", "0.800"] and "0.750" in first.split() and second.split()[9] == "-"  # v3: not scored on it (the CI is two words)
    rows = json.loads(cli(capsys, "leaderboard", "--json")[1])["items"]
    assert [(r["version"], r["score:my-evals-v1"]) for r in rows] == [(4, 0.75), (3, None), (2, None), (1, None)]
    assert "eval set my-evals-v1: 0.750 (15/20)" in cli(capsys, "show", NAME, "4")[1]
