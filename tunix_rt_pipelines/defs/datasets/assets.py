"""Dataset assets: golden-v1 (frozen evaluation set), the training traces (reasoning-traces-v2 by default) and
golden-v1-calibration (labelled candidate answers a judge is calibrated on).

Each asset reads its folder, snapshots the files under the artifact root (what every later step
reads), records what it found, and versions itself by content hash, so re-materializing
identical data leaves everything downstream up to date. Whether the data is fit for use is
decided by the blocking checks in `checks.py`, which run in the same job.
"""

import dagster as dg

from tunix_rt_pipelines.lib.datasets.contract import DIFFICULTIES, GOLDEN_KEY
from tunix_rt_pipelines.lib.datasets.declared import asset_name, declared_datasets
from tunix_rt_pipelines.lib.datasets.reader import composition
from tunix_rt_pipelines.lib.datasets.refs import read_dataset_once, snapshot
from tunix_rt_pipelines.lib.evaluation.calibration_set import CALIBRATION_KEY
from tunix_rt_pipelines.resources.storage import ProjectStorage


def _composition_table(rows: list) -> dg.MetadataValue:
    by_cell = composition(rows)["by_category_difficulty"]
    categories = sorted({key.split("/")[0] for key in by_cell})
    present = {key.split("/")[1] for key in by_cell}
    difficulties = [d for d in DIFFICULTIES if d in present]  # an imported set may have only "unspecified"
    records = [
        dg.TableRecord({"category": c, **{d: by_cell.get(f"{c}/{d}", 0) for d in difficulties},
                        "total": sum(by_cell.get(f"{c}/{d}", 0) for d in difficulties)})
        for c in categories
    ]
    schema = dg.TableSchema(columns=[dg.TableColumn("category", "string")] + [dg.TableColumn(n, "int") for n in (*difficulties, "total")])
    return dg.MetadataValue.table(records=records, schema=schema)


def materialize_dataset(storage: ProjectStorage, key: str) -> dg.MaterializeResult:
    """Snapshot dataset `key`, version it by content hash and describe it for the UI."""
    source = storage.dataset_path(key)
    data = read_dataset_once(source)
    copy = snapshot(source, storage.artifacts_path("datasets"))
    metadata = {
        "dagster/row_count": dg.MetadataValue.int(len(data.rows)),
        "dataset_key": dg.MetadataValue.text(key),
        "dataset_kind": dg.MetadataValue.text(data.kind),
        "sha256": dg.MetadataValue.text(data.sha256),
        "source": dg.MetadataValue.path(str(source)),
        "version": dg.MetadataValue.text(data.manifest.version if data.manifest else "unknown"),
        "problems": dg.MetadataValue.int(len(data.all_problems)),
        "composition": _composition_table(data.rows),
        **storage.pointer_metadata(copy, data.sha256),
    }
    # An unreadable/empty folder still gets a version (the hash of nothing) so the checks can
    # run and explain what is wrong instead of the asset dying with a traceback.
    return dg.MaterializeResult(metadata=metadata, data_version=dg.DataVersion(data.sha256 or "empty"))


@dg.asset(group_name="datasets", kinds={"jsonl"})
def golden_v1(storage: ProjectStorage) -> dg.MaterializeResult:
    """golden-v1: the frozen evaluation set every model is scored on (100 items, 8 task families)."""
    return materialize_dataset(storage, GOLDEN_KEY)


@dg.asset(group_name="datasets", kinds={"jsonl"})
def training_traces(storage: ProjectStorage) -> dg.MaterializeResult:
    """The declared training set (default reasoning-traces-v2: step-by-step traces from golden-v1's families, disjoint from it)."""
    return materialize_dataset(storage, declared_datasets().training_set)


def eval_set_asset(key: str) -> dg.AssetsDefinition:
    """The dataset asset of a further declared eval set (`tunix_rt.yaml`), named after its key."""

    @dg.asset(name=asset_name(key), group_name="datasets", kinds={"jsonl"}, description=f"{key}: a declared eval set (tunix_rt.yaml).")
    def eval_set(storage: ProjectStorage) -> dg.MaterializeResult:
        return materialize_dataset(storage, key)

    return eval_set


# Every declared set but golden-v1 (always an asset, for the judge), the primary included when it is another set.
extra_eval_sets = [eval_set_asset(key) for key in declared_datasets().non_golden_sets]


@dg.asset(group_name="datasets", kinds={"jsonl"})
def golden_v1_calibration(storage: ProjectStorage) -> dg.MaterializeResult:
    """golden-v1-calibration: 200 labelled candidate answers to golden-v1 items, for calibrating a judge before it may score."""
    return materialize_dataset(storage, CALIBRATION_KEY)
