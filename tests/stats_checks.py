"""Checks on statistics responses, written independently of admin.stats.suppression.

A suppressed cell is recoverable when the additive relations of the response (a total is
the sum of its members) determine it from the visible cells. That is decided here by
linear algebra: the cell's unit vector lies in the row space of the relations restricted
to the suppressed cells (Gaussian elimination modulo a large prime; the relation matrices
are totally unimodular, so ranks are those over the rationals).
"""

from __future__ import annotations

from collections.abc import Hashable

PRIME = 2**61 - 1
Relations = list[tuple[Hashable, list[Hashable]]]  # (total, members)


def _rank(rows: list[list[int]]) -> int:
    rows = [list(row) for row in rows]
    rank = 0
    columns = len(rows[0]) if rows else 0
    for column in range(columns):
        pivot = next((i for i in range(rank, len(rows)) if rows[i][column] % PRIME), None)
        if pivot is None:
            continue
        rows[rank], rows[pivot] = rows[pivot], rows[rank]
        inverse = pow(rows[rank][column], PRIME - 2, PRIME)
        rows[rank] = [value * inverse % PRIME for value in rows[rank]]
        for i in range(len(rows)):
            if i != rank and rows[i][column] % PRIME:
                factor = rows[i][column]
                rows[i] = [
                    (a - factor * b) % PRIME for a, b in zip(rows[i], rows[rank], strict=True)
                ]
        rank += 1
    return rank


def recoverable(hidden: set[Hashable], relations: Relations) -> set[Hashable]:
    """The hidden cells the visible cells and the relations determine."""
    unknowns = sorted(hidden, key=repr)
    index = {cell: i for i, cell in enumerate(unknowns)}
    rows = []
    for total, members in relations:
        row = [0] * len(unknowns)
        for cell in members:
            if cell in index:
                row[index[cell]] += 1
        if total in index:
            row[index[total]] -= 1
        if any(row):
            rows.append(row)
    base = _rank(rows)
    found = set()
    for cell in unknowns:
        unit = [0] * len(unknowns)
        unit[index[cell]] = 1
        if _rank([*rows, unit]) == base:
            found.add(cell)
    return found


def single_hidden_groups(hidden: set[Hashable], relations: Relations) -> list[Hashable]:
    """Totals of groups with exactly one suppressed cell: the plain subtraction attack."""
    return [
        total
        for total, members in relations
        if sum(cell in hidden for cell in (total, *members)) == 1
    ]


# The relations of each response


def summary_cells(body: dict) -> tuple[dict, Relations]:
    cells = {"total": body, **{("type", t): cell for t, cell in body["by_type"].items()}}
    return cells, [("total", [("type", t) for t in body["by_type"]])]


def timeseries_cells(body: dict) -> tuple[dict, Relations]:
    cells, relations = {}, []
    rows = [*body["items"], body["totals"]]
    keys = [group["key"] for group in body["totals"]["groups"]]
    for row in rows:
        label = row["period"] if row is not body["totals"] else "total"
        cells[(label, "*")] = row["total"]
        for group in row["groups"]:
            cells[(label, group["key"])] = group
        relations.append(((label, "*"), [(label, key) for key in keys]))
    periods = [row["period"] for row in body["items"]]
    for key in ["*", *keys]:
        relations.append((("total", key), [(p, key) for p in periods]))
    return cells, relations


def green_cells(body: dict) -> tuple[dict, Relations]:
    cells = {"total": body}
    cells.update({("district", d["district_code"]): d for d in body["by_district"]})
    cells.update({("month", m["month"]): m for m in body["trend"]})
    relations = [
        ("total", [("district", d["district_code"]) for d in body["by_district"]]),
        ("total", [("month", m["month"]) for m in body["trend"]]),
    ]
    return cells, relations


def assert_nothing_recoverable(cells: dict, relations: Relations, measures: tuple[str, ...]):
    """Suppressed cells are all-null; in every family a shown parent less its shown
    children is either nothing (the null children are left out of the parent: a withheld
    group) or the sum of at least two null children; visible totals add up."""
    hidden = {key for key, cell in cells.items() if cell["suppressed"]}
    for key in hidden:
        assert all(cells[key][m] is None for m in measures), key
    for key in cells.keys() - hidden:
        assert all(cells[key][m] is not None for m in measures), key
    additive = [m for m in measures if m != "participants"]  # distinct counts do not add up
    for total, members in relations:
        if total in hidden:
            continue
        nulls = [m for m in members if m in hidden]
        rest = {
            measure: cells[total][measure]
            - sum(cells[m][measure] for m in members if m not in hidden)
            for measure in additive
        }
        if not nulls or len(nulls) == 1:
            assert all(value == 0 for value in rest.values()), (total, nulls, rest)
        else:
            assert all(value >= 0 for value in rest.values()), (total, rest)
    return hidden
