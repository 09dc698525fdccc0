"""Derived code versions for every asset of the code location (`lib/code_version.py` says how).

Applied once, in `definitions.py`, after the defs folder is loaded: no asset types a
`code_version` by hand, so none can go stale when its code changes.
"""

from __future__ import annotations

import dagster as dg

from tunix_rt_pipelines.lib.code_version import Reader, function_code_version, merkle


def derived_code_versions(defs: dg.Definitions, read: Reader | None = None) -> dict[dg.AssetKey, str]:
    """`{asset key: code version}`: each asset's own source closure, folded with its upstream assets' versions."""
    own: dict[dg.AssetKey, str] = {}
    parents: dict[dg.AssetKey, set[dg.AssetKey]] = {}
    for assets_def in defs.assets or []:
        if not isinstance(assets_def, dg.AssetsDefinition) or not assets_def.is_executable:
            continue
        version = function_code_version(assets_def.op.compute_fn.decorated_fn, read)
        for spec in assets_def.specs:
            own[spec.key] = version
            parents[spec.key] = {dep.asset_key for dep in spec.deps}
    return merkle(own, parents)


def with_derived_code_versions(defs: dg.Definitions, read: Reader | None = None) -> dg.Definitions:
    """`defs` with every asset's code version replaced by the derived one (`read`: see `function_code_version`)."""
    # The folder load lists an asset once per module that holds it (its own and every importer);
    # mapping must see each object once, or the copies would become distinct duplicates.
    defs = dg.Definitions(assets=list({id(a): a for a in defs.assets or []}.values()), asset_checks=defs.asset_checks, jobs=defs.jobs,
                          schedules=defs.schedules, sensors=defs.sensors, resources=defs.resources, executor=defs.executor,
                          loggers=defs.loggers, metadata=defs.metadata, component_tree=defs.component_tree)
    versions = derived_code_versions(defs, read)
    return defs.map_asset_specs(func=lambda spec: spec.replace_attributes(code_version=versions.get(spec.key, spec.code_version)))
