"""Metadata the UI renders, shared by the assets of several concerns."""

import base64
from pathlib import Path

import dagster as dg


def png_markdown(path: Path, alt: str) -> dg.MetadataValue:
    """A small PNG embedded in markdown metadata (the UI renders data: URIs; keep it tens of KB)."""
    return dg.MetadataValue.md(f"![{alt}](data:image/png;base64,{base64.b64encode(path.read_bytes()).decode()})")


def breakdown_table(groups: dict, key: str) -> dg.MetadataValue:
    """A score breakdown (`{name: {n, correct, score, ci95}}`) as a typed table."""
    records = [dg.TableRecord({key: name, "n": g["n"], "correct": g["correct"], "score": rounded(g["score"]),
                               "ci95_low": rounded(g["ci95"][0]), "ci95_high": rounded(g["ci95"][1])}) for name, g in groups.items()]
    schema = dg.TableSchema(columns=[dg.TableColumn(key, "string"), dg.TableColumn("n", "int"), dg.TableColumn("correct", "int"),
                                     dg.TableColumn("score", "float"), dg.TableColumn("ci95_low", "float"), dg.TableColumn("ci95_high", "float")])
    return dg.MetadataValue.table(records=records, schema=schema)


CELL_CHARS = 40  # a table cell past this is cut with "…": the next column stays on screen at 1600 px


def cell(value, limit: int = CELL_CHARS) -> str:
    """`value` as one line of at most `limit` characters (newlines shown as ⏎, the rest cut with …)."""
    text = str(value).replace("\r", "").replace("\n", " ⏎ ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def rounded(value: float) -> float:
    """A score, delta or interval bound as people read it: 4 decimals."""
    return round(float(value), 4)


def p_value(value: float) -> float:
    """A p-value to 3 significant figures (0.000123, 0.0412, 1.0), never rounded to 0."""
    return float(f"{float(value):.3g}")


def predictions_sample(items: list, predictions: dict[str, str], limit: int = 5) -> dg.MetadataValue:
    """The first `limit` items with their prediction and its answer_correctness verdict, cells cut to fit."""
    from tunix_rt_pipelines.lib.evaluation.metrics import score_item

    records = []
    for item in items[:limit]:
        prediction = predictions.get(item.id)
        verdict = score_item(item.id, item.ground_truth, prediction)
        records.append(dg.TableRecord({"id": cell(item.id, 24), "prompt": cell(item.prompt), "expected": cell(item.ground_truth, 24),
                                       "prediction": cell(prediction if prediction is not None else "(none)"), "correct": verdict.correct}))
    schema = dg.TableSchema(columns=[dg.TableColumn("id", "string"), dg.TableColumn("prompt", "string"), dg.TableColumn("expected", "string"),
                                     dg.TableColumn("prediction", "string", description="the model's output, cut to one short line"),
                                     dg.TableColumn("correct", "bool", description="answer_correctness@v1 of this prediction")])
    return dg.MetadataValue.table(records=records, schema=schema)
