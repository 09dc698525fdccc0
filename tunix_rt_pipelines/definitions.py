"""The tunix-rt code location: every Dagster object under `defs/`, loaded as a folder, plus the
policies that cut across it (in-process execution, derived code versions, settings checked at launch)."""

import warnings
from pathlib import Path

import dagster as dg

from tunix_rt_pipelines import defs as defs_folder
from tunix_rt_pipelines.defs.code_versions import with_derived_code_versions
from tunix_rt_pipelines.defs.launch_checks import with_launch_checks
from tunix_rt_pipelines.defs.terminal_logger import LOGGER_NAME, terminal_logger

# The package's parent, which holds pyproject.toml in a checkout and site-packages in an install:
# the folder load needs no project file, so the installed wheel loads the same definitions.
_PROJECT_ROOT = Path(defs_folder.__file__).resolve().parent.parent.parent

with warnings.catch_warnings():
    # Dagster 1.13 marks the folder loader's internals and map_asset_specs "preview"; they are the
    # documented way to do this, and the warning would otherwise open every CLI command's output.
    warnings.simplefilter("ignore", dg.PreviewWarning)
    defs = with_launch_checks(with_derived_code_versions(dg.Definitions.merge(
        dg.ComponentTree.from_module(defs_module=defs_folder, project_root=_PROJECT_ROOT).build_defs(),
        # Every step loads torch/transformers; a process per step would re-import them (~8 s) each time.
        # `console` stays Dagster's default; `tunix-rt run` picks the terminal logger (failures as one line, no stack).
        dg.Definitions(executor=dg.in_process_executor, loggers={"console": dg.colored_console_logger, LOGGER_NAME: terminal_logger}),
    )))
