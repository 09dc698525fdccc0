"""Registry rows as dataclasses, and the read queries (by name, version, alias, in pages)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import sqlalchemy as sa

from tunix_rt_pipelines.lib.evaluation.best import BEST_ORDER
from tunix_rt_pipelines.lib.registry.scores import EvalSetScore, further_columns, scores_by_version
from tunix_rt_pipelines.lib.registry.tables import alias_moves, model_aliases, model_names, model_versions

T = TypeVar("T")
LATEST = "latest"  # a built-in alias: the highest version of a name
MAX_PAGE = 1000


def utc(moment: datetime) -> datetime:
    """A stored timestamp as aware UTC (SQLite gives it back without its zone)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class NotFound(LookupError):
    """An unknown model name, version or alias; the message lists what exists."""

    def __str__(self) -> str:  # LookupError would repr() the message
        return str(self.args[0])


@dataclass(frozen=True)
class ModelVersion:
    name: str
    version: int
    source_asset: str
    run_id: str
    data_version: str
    sha256: str
    artifact_uri: str
    size_bytes: int
    score: float | None
    n: int | None
    correct: int | None
    ci95_low: float | None
    ci95_high: float | None
    by_category: dict[str, Any] | None
    evaluation_uri: str | None
    evaluation_sha256: str | None
    dataset_key: str
    dataset_sha256: str
    evaluator: str
    spec_sha256: str
    training_config: dict[str, Any]
    created_at: datetime
    promoted_by: str
    forced: bool
    overridden: list[dict[str, Any]]
    gate: dict[str, Any]
    aliases: tuple[str, ...] = ()
    eval_sets: tuple[EvalSetScore, ...] = ()  # every declared eval set's score, the primary first

    @classmethod
    def from_row(cls, row: sa.Row, aliases: Sequence[str] = (), eval_sets: Sequence[EvalSetScore] = ()) -> ModelVersion:
        data = {k: v for k, v in row._mapping.items() if k != "id"}
        data["created_at"] = utc(data["created_at"])
        return cls(**data, aliases=tuple(sorted(aliases)), eval_sets=tuple(eval_sets))

    @classmethod
    def load(cls, conn: sa.Connection, row: sa.Row, aliases: Sequence[str] = ()) -> ModelVersion:
        """`from_row` with the version's eval set scores read on `conn`."""
        return cls.from_row(row, aliases, scores_by_version(conn, [(row.name, row.version)]).get((row.name, row.version), ()))

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["created_at"] = self.created_at.isoformat()
        out["aliases"] = list(self.aliases)
        out["eval_sets"] = list(out["eval_sets"])
        return out


@dataclass(frozen=True)
class AliasMove:
    alias: str
    from_version: int | None
    to_version: int
    reason: str


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


def check_page(limit: int, offset: int) -> None:
    if not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"limit must be between 1 and {MAX_PAGE}, got {limit}")
    if offset < 0:
        raise ValueError(f"offset must be 0 or more, got {offset}")


def best_order() -> list[sa.ColumnElement]:
    """The spec's "best" order as SQL (versions without metrics last), then name and version for stable pages."""
    columns = {"score": model_versions.c.score, "ci95_low": model_versions.c.ci95_low, "n": model_versions.c.n,
               "created_at": model_versions.c.created_at}
    clauses = [sa.nulls_last(columns[key].desc() if direction == "desc" else columns[key].asc()) for key, direction in BEST_ORDER]
    return clauses + [model_versions.c.name.asc(), model_versions.c.version.asc()]


def _aliases_by_version(conn: sa.Connection, names: set[str]) -> dict[tuple[str, int], list[str]]:
    out: dict[tuple[str, int], list[str]] = {}
    if names:
        for row in conn.execute(sa.select(model_aliases).where(model_aliases.c.name.in_(sorted(names)))):
            out.setdefault((row.name, row.version), []).append(row.alias)
    return out


def page_of_versions(conn: sa.Connection, *, name: str | None, limit: int, offset: int, leaderboard: bool) -> Page[ModelVersion]:
    """A page of versions, newest first, or in leaderboard order."""
    check_page(limit, offset)
    where = [model_versions.c.name == name] if name else []
    if name:
        require_name(conn, name)
    total = conn.execute(sa.select(sa.func.count()).select_from(model_versions).where(*where)).scalar_one()
    order = best_order() if leaderboard else [model_versions.c.created_at.desc(), model_versions.c.name, model_versions.c.version.desc()]
    rows = conn.execute(sa.select(model_versions).where(*where).order_by(*order).limit(limit).offset(offset)).all()
    aliases = _aliases_by_version(conn, {r.name for r in rows})
    scores = scores_by_version(conn, [(r.name, r.version) for r in rows])
    return Page([ModelVersion.from_row(r, aliases.get((r.name, r.version), ()), scores.get((r.name, r.version), ())) for r in rows],
                total, limit, offset)


def names(conn: sa.Connection) -> list[str]:
    return list(conn.execute(sa.select(model_names.c.name).order_by(model_names.c.name)).scalars())


def require_name(conn: sa.Connection, name: str) -> None:
    if conn.execute(sa.select(model_names.c.name).where(model_names.c.name == name)).first() is None:
        known = names(conn)
        raise NotFound(f"no model named {name!r} in the registry" + (f" (known: {', '.join(known)})" if known else " (it is empty)"))


def aliases(conn: sa.Connection, name: str) -> dict[str, int]:
    rows = conn.execute(sa.select(model_aliases.c.alias, model_aliases.c.version).where(model_aliases.c.name == name))
    return {alias: version for alias, version in rows}


MAX_INTEGER = 2**63 - 1  # the largest value SQLite's and PostgreSQL's 64-bit INTEGER columns hold


def resolve(conn: sa.Connection, name: str, ref: str | int) -> ModelVersion:
    """A version by number, alias or `latest`.

    Raises:
        NotFound: Unknown name, version or alias; the message says what exists.
    """
    require_name(conn, name)
    named = aliases(conn, name)
    text = str(ref).strip()
    if text[:1] == "v" and text[1:].isascii() and text[1:].isdigit():  # "v3" means version 3
        text = text[1:]
    if text.isascii() and text.isdigit():
        number: int | None = int(text) if int(text) <= MAX_INTEGER else None  # past SQL's INTEGER: no such version
    elif text == LATEST:
        number = conn.execute(sa.select(sa.func.max(model_versions.c.version)).where(model_versions.c.name == name)).scalar()
    else:
        number = named.get(text)
    row = None if number is None else conn.execute(
        sa.select(model_versions).where(model_versions.c.name == name, model_versions.c.version == number)).first()
    if row is None:
        count = conn.execute(sa.select(sa.func.count()).select_from(model_versions).where(model_versions.c.name == name)).scalar_one()
        alias_list = ", ".join(f"{a} -> v{v}" for a, v in sorted(named.items())) or "none"
        raise NotFound(f"{name} has no version or alias {str(ref)!r}: versions 1..{count}, aliases: {alias_list}, or {LATEST}")
    return ModelVersion.load(conn, row, [a for a, v in named.items() if v == row.version])


def alias_history(conn: sa.Connection, name: str) -> list[dict[str, Any]]:
    rows = conn.execute(sa.select(alias_moves).where(alias_moves.c.name == name).order_by(alias_moves.c.id))
    return [{k: (utc(v).isoformat() if isinstance(v, datetime) else v) for k, v in r._mapping.items() if k != "id"} for r in rows]


SCORE_ON = "score:"  # a further eval set's leaderboard column: score:<dataset key>


def leaderboard_rows(page: Page[ModelVersion]) -> list[dict[str, Any]]:
    """The leaderboard as plain rows (rank counts from the page's offset), for the UI table and the CLI.

    `score` is the primary set's (it ranks); every further eval set on the page has a column
    `score:<key>` in every row (None where that version was not scored on it), and `eval_sets` lists
    each set's score with its dataset hash and interval.
    """
    further = further_columns(v.eval_sets for v in page.items)
    rows = []
    for i, v in enumerate(page.items):
        on = {s.dataset_key: s.score for s in v.eval_sets if not s.is_primary}
        rows.append({"rank": page.offset + i + 1, "name": v.name, "version": v.version, "score": v.score, "ci95_low": v.ci95_low,
                     "ci95_high": v.ci95_high, "n": v.n, "dataset": v.dataset_key, "dataset_sha256": v.dataset_sha256[:12],
                     "evaluator": v.evaluator, "aliases": ",".join(v.aliases), "forced": v.forced, "created_at": v.created_at.isoformat(),
                     **{f"{SCORE_ON}{key}": on.get(key) for key in further},
                     "eval_sets": [{"dataset": s.dataset_key, "primary": s.is_primary, "dataset_sha256": s.dataset_sha256[:12], "score": s.score,
                                    "ci95_low": s.ci95_low, "ci95_high": s.ci95_high, "n": s.n} for s in v.eval_sets]})
    return rows


def score_columns(rows: list[dict[str, Any]]) -> list[str]:
    """The further eval sets' columns in leaderboard rows (`score:<key>`), in order."""
    return [k for k in (rows[0] if rows else {}) if k.startswith(SCORE_ON)]
