"""The package as a user installs it (slow): the wheel `uv build` makes, installed non-editable into
a fresh venv, works from a folder outside the repository.

Contract: `dagster definitions validate -m tunix_rt_pipelines.definitions` passes, `tunix-rt
validate-dataset golden-v1` finds the built-in dataset inside the package, and `tunix-rt run
--smoke` with `TUNIX_RT_HOME` set runs the main job and registers a model, writing only under
that home (nothing into the repository, nothing into site-packages). The venv takes the exact
versions of uv.lock (`uv export`), so it installs from uv's cache in seconds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tunix_rt_pipelines_tests.testing_utils import REPO_ROOT

pytestmark = pytest.mark.slow


def _run(args: list[str], cwd: Path, env: dict[str, str], timeout: int = 900) -> str:
    out = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, f"{' '.join(args)} exited {out.returncode}:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv holding the built wheel (not an editable install) and the locked dependencies; returns its bin/."""
    uv = shutil.which("uv")
    if uv is None:
        pytest.fail("uv is needed to build and install the wheel (CI installs it first)", pytrace=False)
    work = tmp_path_factory.mktemp("wheel")
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT")}
    _run([uv, "build", "--wheel", "-o", str(work / "dist")], REPO_ROOT, env)
    _run([uv, "export", "--frozen", "--no-dev", "--no-hashes", "--no-emit-project", "-o", str(work / "requirements.txt")], REPO_ROOT, env)
    _run([uv, "venv", "-q", "-p", "3.11", str(work / "venv")], work, env)
    [wheel] = (work / "dist").glob("*.whl")
    _run([uv, "pip", "install", "-q", "-r", str(work / "requirements.txt"), str(wheel)], work, {**env, "VIRTUAL_ENV": str(work / "venv")})
    return work / "venv" / "bin"


def test_the_installed_wheel_validates_reads_its_data_and_runs_the_smoke_job(installed: Path, tmp_path: Path):
    outside = tmp_path / "somewhere-else"
    outside.mkdir()
    home = tmp_path / "home"
    env = {"PATH": f"{installed}:/usr/bin:/bin", "HOME": str(tmp_path), "HF_HUB_OFFLINE": "1", "TUNIX_RT_HOME": str(home)}

    where = _run([str(installed / "python"), "-c", "import tunix_rt_pipelines; print(tunix_rt_pipelines.__file__)"], outside, env)
    assert "site-packages" in where and str(REPO_ROOT) not in where  # the wheel, not the checkout
    _run([str(installed / "dagster"), "definitions", "validate", "-m", "tunix_rt_pipelines.definitions"], outside, env)
    assert "golden-v1: OK, golden-v1 v1, 100 eval rows, sha256 03869f42bff7" in _run([str(installed / "tunix-rt"), "validate-dataset", "golden-v1"],
                                                                                     outside, env)

    report = _run([str(installed / "tunix-rt"), "run", "--smoke"], outside, env)
    assert "succeeded" in report and "registry tunix-rt-tiny v1 (new; aliases: champion)" in report
    assert sorted(p.name for p in home.iterdir()) >= ["artifacts", "dagster_home", "registry", "registry.db"]
    assert list(outside.iterdir()) == []  # TUNIX_RT_HOME says where everything goes
    site = Path(where.strip()).parent
    assert not (site / ".tunix_rt").exists() and not any(site.glob("artifacts"))
