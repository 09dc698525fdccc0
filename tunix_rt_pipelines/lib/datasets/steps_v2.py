"""Reasoning steps of reasoning-traces-v2: every step is one small, local operation.

v1's steps leave a small model two jumps it cannot make reliably (measured in docs/benchmarks.md,
"Levers"): the answer of a column sum has to be assembled from digits scattered over earlier lines,
and the string families have no steps at all. Here:

- arithmetic goes column by column from the right and every line ends with the result so far
  (`3+8+1=12 -> 120`), so the answer is the last line's tail; a one-digit product is written
  before its carry is added (`4*3=12+2=14 -> 147`);
- word problems first restate their sum (`23+5`, the longer operand first for products) and then
  use the same column steps; hard unit conversions (factors 60 and 24) are written as products
  by one digit (`x*6`, then `*10`; `x*8`, then `*3`);
- reverse numbers the letters (`1r 2o 3w 4t`), writes them back in reverse with their numbers, then
  spaced; sort writes the sorted letters spaced; count walks the word writing each letter, the
  letter counted and the hits so far (`cc1 dc1 ac1 cc2` for 'c' in 'cdac'), so every mark compares
  two neighbouring characters and adds to the mark four characters back.

Pure functions of a `families.Task`; the generator (`generate.build_traces_v2`) calls them.
"""

from __future__ import annotations

from tunix_rt_pipelines.lib.datasets.families import Task


def _digits(n: int) -> list[int]:
    return [int(c) for c in reversed(str(n))]


def add(a: int, b: int) -> list[str]:
    da, db = _digits(a), _digits(b)
    width, carry, so_far, steps = max(len(da), len(db)), 0, "", []
    for k in range(width):
        terms = [d[k] for d in (da, db) if k < len(d)] + ([carry] if carry else [])
        total, last = sum(terms), k == width - 1
        so_far = (str(total) if last else str(total % 10)) + so_far
        carry = 0 if last else total // 10
        steps.append("+".join(map(str, terms)) + f"={total}" + (f" carry {carry}" if carry else "") + f" -> {so_far}")
    return steps


def subtract(a: int, b: int) -> list[str]:
    """Columns with borrows; the running result keeps its leading zeros (`040`), the answer drops them."""
    da, db = _digits(a), _digits(b)
    borrow, so_far, steps = 0, "", []
    for k in range(len(da)):
        top, bottom = da[k] - borrow, (db[k] if k < len(db) else 0)
        need = top < bottom
        value = top + 10 * need - bottom
        so_far = str(value) + so_far
        lhs = f"{da[k] + 10 * need}" + (f"-{borrow}" if borrow else "") + (f"-{bottom}" if k < len(db) else "")
        steps.append(f"{lhs}={value}" + (" borrow 1" if need else "") + f" -> {so_far}")
        borrow = int(need)
    return steps


def multiply(a: int, b: int) -> list[str]:
    """`a * b` for a one-digit `b`."""
    carry, so_far, steps = 0, "", []
    da = _digits(a)
    for k, d in enumerate(da):
        product = d * b
        total, last = product + carry, k == len(da) - 1
        expr = f"{d}*{b}={product}" + (f"+{carry}={total}" if carry else "")
        so_far = (str(total) if last else str(total % 10)) + so_far
        carry = 0 if last else total // 10
        steps.append(expr + (f" carry {carry}" if carry else "") + f" -> {so_far}")
    return steps


_ARITHMETIC = {"+": add, "-": subtract}


def _word_problem(op: str, a: int, b: int) -> list[str]:
    if op == "*":
        a, b = (b, a) if b >= 10 else (a, b)  # the one-digit factor goes last
        return [f"{a}*{b}", *multiply(a, b)]
    return [f"{a}{op}{b}", *_ARITHMETIC[op](a, b)]


def _unit_conversion(task: Task) -> list[str]:
    op, value, factor = task.args
    note, rest = task.steps[0][1], [content for _, content in task.steps[1:]]
    if op == "/" or factor not in (60, 24):
        return [note, *rest]  # powers of ten: appending or moving zeros is one step already
    first, second = (6, 10) if factor == 60 else (8, 3)
    middle = value * first
    tail = [f"{middle}*10={middle * 10}"] if second == 10 else [f"{middle}*{second}", *multiply(middle, second)]
    return [note, f"{value}*{first}", *multiply(value, first), *tail]


def steps(family: str, task: Task) -> list[tuple[str, str]]:
    """The v2 steps of `task` (a prompt and answer made by `families.FAMILIES[family]`), as (type, content)."""
    lines = _lines(family, task)
    first_is_note = family == "unit_conversion"  # the stated conversion factor, as in v1
    return [("note" if first_is_note and k == 0 else "compute", line) for k, line in enumerate(lines)]


def _lines(family: str, task: Task) -> list[str]:
    if family == "addition":
        return add(*task.args)
    if family == "subtraction":
        return subtract(*task.args)
    if family == "multiplication":
        return multiply(*task.args)
    if family == "word_problem":
        return _word_problem(*task.args)
    if family == "unit_conversion":
        return _unit_conversion(task)
    if family == "reverse":
        (word,) = task.args
        return [" ".join(f"{i + 1}{c}" for i, c in enumerate(word)),
                " ".join(f"{i + 1}{word[i]}" for i in reversed(range(len(word)))),
                " ".join(reversed(word))]
    if family == "sort":
        (word,) = task.args
        return [" ".join(sorted(word))]
    if family == "count":
        word, target = task.args
        hits, walked = 0, []
        for c in word:  # letter, the letter counted, hits so far: each mark compares two neighbours
            hits += c == target
            walked.append(f"{c}{target}{hits}")
        return [" ".join(walked)]
    raise ValueError(f"no v2 steps for family {family!r}")
