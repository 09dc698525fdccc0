"""Metadata the UI renders, shared by the assets of several concerns."""

import base64
from pathlib import Path

import dagster as dg


def png_markdown(path: Path, alt: str) -> dg.MetadataValue:
    """A small PNG embedded in markdown metadata (the UI renders data: URIs; keep it tens of KB)."""
    return dg.MetadataValue.md(f"![{alt}](data:image/png;base64,{base64.b64encode(path.read_bytes()).decode()})")


def breakdown_table(groups: dict, key: str) -> dg.MetadataValue:
    """A score breakdown (`{name: {n, correct, score, ci95}}`) as a typed table."""
    records = [dg.TableRecord({key: name, "n": g["n"], "correct": g["correct"], "score": round(g["score"], 4),
                               "ci95_low": round(g["ci95"][0], 4), "ci95_high": round(g["ci95"][1], 4)}) for name, g in groups.items()]
    schema = dg.TableSchema(columns=[dg.TableColumn(key, "string"), dg.TableColumn("n", "int"), dg.TableColumn("correct", "int"),
                                     dg.TableColumn("score", "float"), dg.TableColumn("ci95_low", "float"), dg.TableColumn("ci95_high", "float")])
    return dg.MetadataValue.table(records=records, schema=schema)
