"""Task families for golden-v1 and the reasoning-traces sets.

Each family turns `(rng, difficulty)` into one `Task`: a short prompt, a few reasoning steps a
small model can imitate (column-wise arithmetic from the right, a stated conversion factor) and
the final answer. String families carry no steps: the answer is the whole computation.

Everything here is deterministic given the `random.Random` passed in, so the generator can
rebuild every dataset byte for byte from its manifest's seed.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Task:
    """A generated question: prompt, reasoning steps (`(type, content)` pairs) and answer."""

    prompt: str
    steps: tuple[tuple[str, str], ...]
    answer: str
    args: tuple = ()  # the operands the prompt was made from (what reasoning-traces-v2 builds its steps from)


def _digits(n: int) -> list[int]:
    """Digits of `n`, least significant first."""
    return [int(c) for c in reversed(str(n))]


def _column_addition(a: int, b: int) -> tuple[tuple[str, str], ...]:
    """Steps for `a + b`, one column at a time from the right ("7+8=15 carry 1")."""
    da, db = _digits(a), _digits(b)
    width = max(len(da), len(db))
    steps, carry = [], 0
    for k in range(width):
        terms = [d[k] for d in (da, db) if k < len(d)] + ([carry] if carry else [])
        total = sum(terms)
        last = k == width - 1
        carry = 0 if last else total // 10
        tail = f" carry {carry}" if carry else ""
        # A lone leading digit is copied down: "7=7" keeps one step per column.
        steps.append(("compute", "+".join(map(str, terms)) + f"={total}{tail}"))
    return tuple(steps)


def _column_subtraction(a: int, b: int) -> tuple[tuple[str, str], ...]:
    """Steps for `a - b` (a >= b), one column at a time from the right with borrows."""
    da, db = _digits(a), _digits(b)
    steps, borrow = [], 0
    for k in range(len(da)):
        top = da[k] - borrow
        bottom = db[k] if k < len(db) else 0
        if k == len(da) - 1 and bottom == 0 and borrow == 0 and k >= len(db):
            break  # nothing left to subtract in the leading column: it is copied as is
        need = top < bottom
        value = top + 10 * need - bottom
        lhs = f"{da[k] + 10 * need}" + (f"-{borrow}" if borrow else "") + (f"-{bottom}" if k < len(db) else "")
        steps.append(("compute", f"{lhs}={value}" + (" borrow 1" if need else "")))
        borrow = int(need)
    return tuple(steps)


def _column_multiplication(a: int, b: int) -> tuple[tuple[str, str], ...]:
    """Steps for `a * b` with one-digit `b` ("7*6=42 carry 4", "4*6+4=28")."""
    da = _digits(a)
    steps, carry = [], 0
    for k, d in enumerate(da):
        total = d * b + carry
        last = k == len(da) - 1
        expr = f"{d}*{b}" + (f"+{carry}" if carry else "")
        carry = 0 if last else total // 10
        steps.append(("compute", f"{expr}={total}" + (f" carry {carry}" if carry else "")))
    return tuple(steps)


def addition(rng: random.Random, difficulty: str) -> Task:
    if difficulty == "easy":
        a, b = rng.randint(0, 9), rng.randint(0, 99)
        if rng.random() < 0.5:
            a, b = b, a
    elif difficulty == "medium":
        a, b = rng.randint(10, 99), rng.randint(10, 99)
    else:
        a, b = rng.randint(100, 999), rng.randint(100, 999)
    return Task(f"What is {a} + {b}?", _column_addition(a, b), str(a + b), (a, b))


def subtraction(rng: random.Random, difficulty: str) -> Task:
    if difficulty == "easy":
        a, b = rng.randint(10, 99), rng.randint(0, 9)
    elif difficulty == "medium":
        a = rng.randint(20, 99)
        b = rng.randint(10, a)
    else:
        a = rng.randint(200, 999)
        b = rng.randint(100, a)
    return Task(f"What is {a} - {b}?", _column_subtraction(a, b), str(a - b), (a, b))


def multiplication(rng: random.Random, difficulty: str) -> Task:
    a = {"easy": lambda: rng.randint(2, 49), "medium": lambda: rng.randint(50, 99), "hard": lambda: rng.randint(100, 999)}[difficulty]()
    b = rng.randint(2, 9)
    return Task(f"What is {a} * {b}?", _column_multiplication(a, b), str(a * b), (a, b))


_LENGTHS = {"easy": (3, 4), "medium": (5, 6), "hard": (7, 8)}


def _word(rng: random.Random, difficulty: str, alphabet: str = string.ascii_lowercase) -> str:
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(*_LENGTHS[difficulty])))


def reverse(rng: random.Random, difficulty: str) -> Task:
    w = _word(rng, difficulty)
    return Task(f"Reverse the letters of '{w}'.", (), w[::-1], (w,))


def sort(rng: random.Random, difficulty: str) -> Task:
    w = _word(rng, difficulty)
    return Task(f"Sort the letters of '{w}'.", (), "".join(sorted(w)), (w,))


def count(rng: random.Random, difficulty: str) -> Task:
    # A small alphabet makes repeats common, so answers are spread over 0..n, not mostly 0/1.
    w = _word(rng, difficulty, alphabet="abcde")
    target = rng.choice("abcde")
    return Task(f"How many times does '{target}' appear in '{w}'?", (), str(w.count(target)), (w, target))


# (from, to, factor). Easy: small unit from a large one (append zeros). Medium: the other way,
# which divides and may leave one decimal place ("2500 m" -> "2.5"). Hard: factors 60 and 24.
_DECIMAL_UNITS = (("km", "m", 1000), ("m", "cm", 100), ("cm", "mm", 10), ("kg", "g", 1000), ("L", "mL", 1000), ("g", "mg", 1000))
_TIME_UNITS = (("h", "min", 60), ("min", "s", 60), ("day", "h", 24))


def unit_conversion(rng: random.Random, difficulty: str) -> Task:
    src, dst, factor = rng.choice(_TIME_UNITS if difficulty == "hard" else _DECIMAL_UNITS)
    if difficulty == "medium":
        tenths = rng.randint(11, 99)
        value = tenths * factor // 10
        answer = f"{tenths / 10:g}"
        steps = (("note", f"1 {src} = {factor} {dst}"), ("compute", f"{value}/{factor}={answer}"))
        return Task(f"Convert {value} {dst} to {src}.", steps, answer, ("/", value, factor))
    value = rng.randint(1, 99)
    steps = (("note", f"1 {src} = {factor} {dst}"), ("compute", f"{value}*{factor}={value * factor}"))
    return Task(f"Convert {value} {src} to {dst}.", steps, str(value * factor), ("*", value, factor))


_NAMES = ("Ann", "Ben", "Cara", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jo", "Kai", "Lea", "Max", "Nia", "Omar", "Pia")
_OBJECTS = ("apples", "pens", "books", "cards", "shells", "coins", "eggs", "stamps", "marbles", "cups")


def word_problem(rng: random.Random, difficulty: str) -> Task:
    name, obj = rng.choice(_NAMES), rng.choice(_OBJECTS)
    kind = rng.choice(("add", "sub", "mul"))
    small = difficulty == "easy"
    if kind == "add":
        a, b = (rng.randint(1, 9), rng.randint(1, 9)) if small else (rng.randint(10, 99), rng.randint(1, 99 if difficulty == "hard" else 9))
        return Task(f"{name} has {a} {obj} and gets {b} more. How many {obj} now?", (("compute", f"{a}+{b}={a + b}"),), str(a + b), ("+", a, b))
    if kind == "sub":
        a = rng.randint(2, 9) if small else rng.randint(10, 99)
        b = rng.randint(1, a - 1) if (small or difficulty == "hard") else rng.randint(1, min(9, a - 1))
        return Task(f"{name} has {a} {obj} and gives away {b}. How many {obj} are left?", (("compute", f"{a}-{b}={a - b}"),), str(a - b), ("-", a, b))
    a = rng.randint(2, 5) if small else rng.randint(2, 9)
    b = rng.randint(2, 5) if small else rng.randint(2, 9) if difficulty == "medium" else rng.randint(11, 25)
    return Task(f"{name} buys {a} bags of {b} {obj}. How many {obj} in total?", (("compute", f"{a}*{b}={a * b}"),), str(a * b), ("*", a, b))


FAMILIES: dict[str, Callable[[random.Random, str], Task]] = {
    "addition": addition,
    "subtraction": subtraction,
    "multiplication": multiplication,
    "reverse": reverse,
    "sort": sort,
    "count": count,
    "unit_conversion": unit_conversion,
    "word_problem": word_problem,
}
