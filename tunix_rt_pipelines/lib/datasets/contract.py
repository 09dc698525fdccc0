"""The one data contract shared by datasets, training, inference, evaluation and the CLI.

Three row types live in `datasets/<key>/items.jsonl`:

- `EvalItem` — a frozen evaluation question with its `ground_truth`;
- `TrainingTrace` — a question with short step-by-step reasoning and the final `answer`;
- `CalibrationItem` — an eval item with a candidate answer and the verdict it deserves (judge calibration).

Both are strict (`extra="forbid"`): a misspelt field is an error, never silently dropped.
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

SCHEMA_VERSION = 1

# The built-in datasets (shipped in the package, see `builtin_datasets/`): the frozen golden set
# every model is scored on, and the training traces disjoint from it.
GOLDEN_KEY = "golden-v1"
TRACES_KEY = "reasoning-traces-v1"  # frozen; the first trace set
TRACES_V2_KEY = "reasoning-traces-v2"  # the default training set (steps a small model can follow)

# Imported sets without a category or difficulty column get these (`tunix-rt dataset import`);
# the built-in sets always name both.
UNCATEGORISED = "uncategorised"
UNSPECIFIED = "unspecified"

Difficulty = Literal["easy", "medium", "hard", "unspecified"]
DIFFICULTIES: tuple[str, ...] = get_args(Difficulty)

# Non-empty after trimming; ids are restricted so they are safe in file names and URLs.
NonEmptyText = Annotated[str, StringConstraints(min_length=1, pattern=r"\S")]
ItemId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")]
Category = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]

# Eval sets are small and frozen; the contract bounds their size so a truncated or
# accidentally concatenated file is caught by the checks.
EVAL_MIN_ITEMS = 20
EVAL_MAX_ITEMS = 200


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)


class EvalItem(_Row):
    """One golden evaluation item."""

    id: ItemId
    prompt: NonEmptyText
    ground_truth: NonEmptyText
    category: Category
    difficulty: Difficulty


class TraceStep(_Row):
    """One reasoning step of a training trace."""

    i: int = Field(ge=0)
    type: Literal["compute", "note"]
    content: NonEmptyText


class TrainingTrace(_Row):
    """One training example: prompt, reasoning steps (possibly none) and the final answer."""

    id: ItemId
    prompt: NonEmptyText
    steps: list[TraceStep]
    answer: NonEmptyText
    category: Category
    difficulty: Difficulty

    @model_validator(mode="after")
    def _steps_are_numbered_in_order(self) -> TrainingTrace:
        for position, step in enumerate(self.steps):
            if step.i != position:
                raise ValueError(f"steps must be numbered 0..{len(self.steps) - 1} in order; step {position} has i={step.i}")
        return self


class CalibrationItem(_Row):
    """One labelled judgement for calibrating a judge: an eval item, a candidate answer, the verdict it deserves."""

    id: ItemId
    item_id: ItemId  # the eval item the candidate answers
    prompt: NonEmptyText
    ground_truth: NonEmptyText
    candidate: NonEmptyText
    label: Literal["correct", "incorrect"]
    variant: Literal["exact", "paraphrase", "wrong", "wrong_paraphrase"]  # how the candidate was made
    labelled_by: NonEmptyText  # who or what decided `label` (see the dataset's README)
    category: Category
    difficulty: Difficulty


DatasetKind = Literal["eval", "traces", "calibration"]
ROW_MODELS: dict[str, type[_Row]] = {"eval": EvalItem, "traces": TrainingTrace, "calibration": CalibrationItem}


class Manifest(_Row):
    """`manifest.json` beside every dataset's `items.jsonl`. Strict: `"count": "100"` is a string, not a count."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    key: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]*$")]
    version: NonEmptyText
    kind: DatasetKind
    schema_version: int = Field(ge=1)
    count: int = Field(ge=0)
    sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    generator: dict[str, object]
    composition: dict[str, dict[str, int]]
