"""Cell suppression: what the DRB's figures may show, as pure functions.

Two layers, so that no sum or difference of published figures within a family, nor of
two nested periods, gives the figures of 1 to k-1 residents:

1. `withheld`: a month's group of one verification class (verified or self-declared)
   and one action type city-wide, or one district all types together, behind fewer than
   k residents is left out of every figure (`primary`): one Clean Plate meal in a month,
   or the one resident of a small county, hides nothing else, and totals are the sums of
   what is counted.
2. `protect`: a cell behind 1 to k-1 residents is null; then, for every additive family
   (days and weeks in a month, days in a week, months in a quarter and a year, quarters
   in a year, types in a total, districts in the city), the nulls of the family must be
   none, or at least two cells behind at least k residents together (the parent minus the
   shown cells is their sum), and a null parent must keep a null child (else it is the
   sum of its children). Complements are added until every family holds: a shown sibling
   with enough residents, preferring one whose other families already hold a null (that
   closes the protection rather than opening a new family). The service runs it once per
   year (months, quarters, the year) and once per month (its days and weeks, the month's
   own cells as the year left them), whatever the query; a range of months or a week
   across two months is shown only when all its parts are.

The residents given to `protect` are those behind what each cell counts: a withheld
group's actions are in no figure, so its cell has no one behind it and needs no
complement (December's five EV chargers on the demo), while its residents' counted
actions elsewhere in the span still count (a quarter's EV cell holds November's chargers
even when December's are withheld). Counting fewer would only hide more: a quarter
undercounted below k is null, a null parent keeps a null child, and on the demo that
chain nulled every month by type.

The older `suppress` (bridges of a two-family graph: no single suppressed value
recoverable in one response) is kept for the tests of its own rule.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass

OUTSIDE = -1  # the vertex joining cells that belong to a single group


@dataclass(frozen=True)
class Group:
    """An additive relation between cells of one response: total = sum(members)."""

    total: Hashable
    members: tuple[Hashable, ...]


def primary(residents: Mapping[Hashable, int], min_residents: int) -> set[Hashable]:
    """Cells behind 1 to k-1 residents; a cell nobody is behind (all zeros) shows no one."""
    return {cell for cell, count in residents.items() if 0 < count < min_residents}


def suppress(
    residents: Mapping[Hashable, int], groups: Iterable[Group], min_residents: int
) -> set[Hashable]:
    """The cells to show as null: primary suppression, then complements until none is a bridge.

    `residents` lists every cell of the response in a stable order (ties go to the cell
    listed first); every cell of a group must be in it.
    """
    order = {cell: index for index, cell in enumerate(residents)}
    ends = _ends(list(groups))
    siblings: dict[int, list[Hashable]] = {}
    for cell, vertices in ends.items():
        for vertex in set(vertices) - {OUTSIDE}:
            siblings.setdefault(vertex, []).append(cell)
    hidden = primary(residents, min_residents)
    while True:
        graph = _adjacency(hidden, ends)
        choices = []
        for bridge in _bridges(graph):
            choice = _complement(bridge, graph, hidden, residents, order, ends, siblings)
            if choice is not None:
                rank, complement = choice
                choices.append((rank, residents[bridge], order[bridge], bridge, complement))
        # Complements that close a cycle go first; each round touches a group once, since
        # one complement often protects several bridges of its groups.
        choices.sort(key=lambda choice: choice[:3])
        touched: set[int] = set()
        for _rank, _count, _order, bridge, complement in choices:
            if touched & {*ends[bridge], *ends[complement]} - {OUTSIDE}:
                continue
            hidden.add(complement)
            touched.update(ends[bridge], ends[complement])
        if not choices:
            return hidden


def _ends(groups: list[Group]) -> dict[Hashable, tuple[int, int]]:
    """Each grouped cell's two vertices: its groups, or its one group and OUTSIDE."""
    memberships: dict[Hashable, list[int]] = {}
    for index, group in enumerate(groups):
        for cell in (group.total, *group.members):
            memberships.setdefault(cell, []).append(index)
    ends = {}
    for cell, indexes in memberships.items():
        if len(indexes) > 2:
            raise ValueError(f"cell {cell!r} is in more than two groups")
        ends[cell] = (indexes[0], indexes[1] if len(indexes) == 2 else OUTSIDE)
    return ends


Graph = dict[int, list[tuple[int, Hashable]]]


def _adjacency(cells: Iterable[Hashable], ends: Mapping) -> Graph:
    graph: Graph = {}
    for cell in cells:
        if cell in ends:
            a, b = ends[cell]
            graph.setdefault(a, []).append((b, cell))
            graph.setdefault(b, []).append((a, cell))
    return graph


def _bridges(graph: Graph) -> list[Hashable]:
    """Cells on no cycle of the graph (Tarjan's bridges, iterative, parallel edges kept)."""
    entered: dict[int, int] = {}
    low: dict[int, int] = {}
    found: list[Hashable] = []
    for root in graph:
        if root in entered:
            continue
        entered[root] = low[root] = len(entered)
        stack = [(root, None, iter(graph[root]))]
        while stack:
            vertex, via, edges = stack[-1]
            step = next(edges, None)
            if step is None:
                stack.pop()
                if stack:
                    parent = stack[-1][0]
                    low[parent] = min(low[parent], low[vertex])
                    if low[vertex] > entered[parent]:
                        found.append(via)
                continue
            neighbour, cell = step
            if cell == via:
                continue  # the edge we came in by; a parallel edge is another cell
            if neighbour in entered:
                low[vertex] = min(low[vertex], entered[neighbour])
            else:
                entered[neighbour] = low[neighbour] = len(entered)
                stack.append((neighbour, cell, iter(graph[neighbour])))
    return found


def _reachable(graph: Graph, start: int, without: Hashable) -> set[int]:
    seen, frontier = {start}, [start]
    while frontier:
        for neighbour, cell in graph.get(frontier.pop(), ()):
            if cell != without and neighbour not in seen:
                seen.add(neighbour)
                frontier.append(neighbour)
    return seen


def _complement(bridge, graph, hidden, residents, order, ends, siblings):
    """(rank, cell) of the visible sibling to suppress: closing a cycle, then fewest residents."""
    u, v = ends[bridge]
    beyond = {u: _reachable(graph, v, bridge), v: _reachable(graph, u, bridge)}
    best = None
    for shared in {u, v} - {OUTSIDE}:  # sharing OUTSIDE makes no sibling
        for cell in siblings[shared]:
            if cell in hidden:
                continue
            a, b = ends[cell]
            other = b if a == shared else a
            # A cell nobody is behind protects nothing: only as a last resort.
            rank = (residents[cell] == 0, other not in beyond[shared], residents[cell], order[cell])
            if best is None or rank < best[0]:
                best = (rank, cell)
    return None if best is None else (best[0][:2], best[1])


# Families inside a month (layer 2)


def withheld(residents: Mapping[Hashable, int], min_residents: int) -> set[Hashable]:
    """The month groups left out of every figure: behind 1 to k-1 residents."""
    return primary(residents, min_residents)


def protect(
    residents: Mapping[Hashable, int],
    families: Iterable[Group],
    min_residents: int,
    fixed: frozenset = frozenset(),
    union=None,
    hidden: Iterable[Hashable] = (),
) -> set[Hashable]:
    """The cells to show as null so that every family holds (see the module's docstring).

    `residents` gives every cell's distinct residents, in a stable order (ties go to the
    cell listed first). `fixed` cells are shown whatever happens (a month's own cells,
    published by month queries, already safe). `union(cells)` may give the distinct
    residents of several cells together; without it a lower bound is used (the largest
    of them, or the parent's residents less those of its shown children), which can
    only hide more. `hidden` cells are null from the start (decided with a wider table).
    """
    k = min_residents
    families = list(families)
    order = {cell: index for index, cell in enumerate(residents)}
    member_of: dict[Hashable, list[int]] = {}
    total_of: dict[Hashable, list[int]] = {}
    for index, family in enumerate(families):
        total_of.setdefault(family.total, []).append(index)
        for cell in family.members:
            member_of.setdefault(cell, []).append(index)
    hidden = (primary(residents, k) - fixed) | set(hidden)

    def present(cell) -> bool:
        return residents[cell] > 0

    def alone(cell) -> bool:
        """Is the cell the only present member of a family with a shown parent (so its
        value is the parent's, null or not)?"""
        for index in member_of.get(cell, []):
            family = families[index]
            if family.total not in hidden and all(
                c == cell or not present(c) for c in family.members
            ):
                return True
        return False

    def unsafe(family: Group) -> bool:
        nulls = [c for c in family.members if c in hidden and present(c) and not alone(c)]
        shown = [c for c in family.members if present(c) and c not in nulls]
        if not nulls:
            return family.total in hidden and bool(shown)
        if not shown:
            return False  # the nulls are the whole parent: nothing to subtract
        if len(nulls) < 2:
            return True
        together = union(nulls) if union is not None else max(residents[c] for c in nulls)
        together = max(together, residents[family.total] - sum(residents[c] for c in shown))
        return together < k

    def cascade(cell, family_index: int) -> int:
        """Families of `cell` (other than the one it protects) left with one null."""
        opened = 0
        for index in member_of.get(cell, []) + total_of.get(cell, []):
            if index == family_index:
                continue
            family = families[index]
            cells = (family.total, *family.members)
            if not any(c in hidden and present(c) for c in cells):
                opened += 1
        return opened

    def complement(index: int):
        family = families[index]
        nulls = [c for c in family.members if c in hidden and present(c)]
        needed = k - max((residents[c] for c in nulls), default=0)
        best = None
        for cell in family.members:
            if cell in hidden or cell in fixed or not present(cell):
                continue
            rank = (
                alone(cell),
                residents[cell] < needed,
                cascade(cell, index),
                residents[cell],
                order[cell],
            )
            if best is None or rank < best[0]:
                best = (rank, cell)
        if best is not None:
            return best[1]
        if family.total not in hidden and family.total not in fixed and present(family.total):
            return family.total
        # A null that stands alone in another family is that family's shown parent in
        # disguise (a day of charging only: the day's total is its figure). Hiding that
        # parent makes it a null here, where its residents protect the others.
        for cell in family.members:
            if cell in hidden and present(cell) and alone(cell):
                for other in member_of.get(cell, []):
                    parent = families[other].total
                    shown = parent not in hidden and parent not in fixed and present(parent)
                    if shown and all(c == cell or not present(c) for c in families[other].members):
                        return parent
        return None

    pending = list(range(len(families)))
    queued = set(pending)
    while pending:
        index = pending.pop()
        queued.discard(index)
        if not unsafe(families[index]):
            continue
        cell = complement(index)
        if cell is None:
            continue  # only fixed cells are left to hide: the family is as safe as they are
        hidden.add(cell)
        for other in [index, *member_of.get(cell, []), *total_of.get(cell, [])]:
            if other not in queued:
                queued.add(other)
                pending.append(other)
    return hidden
