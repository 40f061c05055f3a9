"""Suppression rules as pure functions: primary, complementary, and nothing recoverable."""

from hypothesis import given, settings
from hypothesis import strategies as st

from admin.stats.suppression import Group, primary, protect, suppress, withheld
from tests.stats_checks import recoverable, single_hidden_groups

K = 10


def relations(groups: list[Group]) -> list[tuple]:
    return [(group.total, list(group.members)) for group in groups]


def one_way(members: dict[str, int], total: int) -> tuple[dict, list[Group]]:
    residents = {"total": total, **members}
    return residents, [Group("total", tuple(members))]


def table(counts: list[list[int]]) -> tuple[dict, list[Group]]:
    """A table with margins; a margin's residents here are the sum (no one in two cells)."""
    rows, columns = range(len(counts)), range(len(counts[0]))
    residents = {(r, c): counts[r][c] for r in rows for c in columns}
    for r in rows:
        residents[(r, "T")] = sum(counts[r])
    for c in columns:
        residents[("T", c)] = sum(counts[r][c] for r in rows)
    residents[("T", "T")] = sum(map(sum, counts))
    groups = [Group((r, "T"), tuple((r, c) for c in columns)) for r in [*rows, "T"]]
    groups += [Group(("T", c), tuple((r, c) for r in rows)) for c in [*columns, "T"]]
    return residents, groups


def test_primary_suppresses_cells_behind_one_to_k_minus_one_residents():
    assert primary({"a": 0, "b": 1, "c": 9, "d": 10, "e": 250}, K) == {"b", "c"}


def test_a_lone_small_cell_takes_the_next_smallest_sibling_with_it():
    residents, groups = one_way({"trip": 3, "garbage": 40, "ev": 12, "meal": 0}, 55)
    assert suppress(residents, groups, K) == {"trip", "ev"}


def test_zero_cells_are_shown_and_never_chosen_as_complements():
    residents, groups = one_way({"trip": 3, "garbage": 0, "ev": 0, "meal": 0}, 3)
    # The total is as small as the cell: both go, the zeros stay (they show no one).
    assert suppress(residents, groups, K) == {"trip", "total"}


def test_two_small_cells_protect_each_other():
    residents, groups = one_way({"trip": 3, "garbage": 4, "ev": 50}, 57)
    assert suppress(residents, groups, K) == {"trip", "garbage"}


def test_a_table_with_one_small_cell_loses_a_rectangle():
    residents, groups = table([[3, 20, 30], [25, 40, 50], [60, 70, 80]])
    hidden = suppress(residents, groups, K)
    assert (0, 0) in hidden
    assert len(hidden) == 4  # (0, 0), one in its row, one in its column, and the corner
    assert single_hidden_groups(hidden, relations(groups)) == []
    assert recoverable(hidden, relations(groups)) == set()


def test_a_cell_between_two_protected_blocks_is_still_protected():
    # Two 2x2 blocks of small cells and one more small cell joining them: every group
    # has two suppressed cells, yet that cell alone would follow from the margins.
    counts = [
        [3, 4, 50, 50, 50],
        [4, 3, 5, 50, 50],
        [50, 50, 3, 4, 50],
        [50, 50, 4, 3, 50],
    ]
    residents, groups = table(counts)
    hidden = suppress(residents, groups, K)
    assert recoverable(hidden, relations(groups)) == set()


def test_two_breakdowns_of_one_total_are_protected_together():
    residents = {"total": 40, "d1": 3, "d2": 37, "m1": 20, "m2": 20}
    groups = [Group("total", ("d1", "d2")), Group("total", ("m1", "m2"))]
    hidden = suppress(residents, groups, K)
    assert hidden >= {"d1", "d2"}
    assert recoverable(hidden, relations(groups)) == set()


@settings(max_examples=150, deadline=None, database=None)
@given(
    st.lists(
        st.lists(st.sampled_from([0, 0, 1, 2, 5, 9, 10, 12, 30, 200]), min_size=1, max_size=6),
        min_size=1,
        max_size=12,
    ).filter(lambda rows: len({len(row) for row in rows}) == 1)
)
def test_no_suppressed_cell_of_a_random_table_can_be_recovered(counts):
    residents, groups = table(counts)
    hidden = suppress(residents, groups, K)
    assert primary(residents, K) <= hidden
    assert all(residents[cell] > 0 for cell in hidden)
    assert recoverable(hidden, relations(groups)) == set()


@settings(max_examples=100, deadline=None, database=None)
@given(
    st.lists(st.integers(0, 40), min_size=1, max_size=8),
    st.lists(st.integers(0, 40), min_size=1, max_size=8),
)
def test_no_suppressed_cell_of_two_breakdowns_can_be_recovered(districts, months):
    residents = {"total": max(sum(districts), sum(months))}
    residents |= {("d", i): n for i, n in enumerate(districts)}
    residents |= {("m", i): n for i, n in enumerate(months)}
    groups = [
        Group("total", tuple(("d", i) for i in range(len(districts)))),
        Group("total", tuple(("m", i) for i in range(len(months)))),
    ]
    hidden = suppress(residents, groups, K)
    assert recoverable(hidden, relations(groups)) == set()


# protect: the families of a month (what the service uses)


def test_protect_gives_a_lone_small_cell_a_partner_with_enough_residents():
    residents = {"total": 60, "trip": 40, "garbage": 12, "meal": 3, "ev": 0}
    hidden = protect(residents, [Group("total", ("trip", "garbage", "meal", "ev"))], K)
    # The meal's 3 need 7 more: garbage (12) is enough and smaller than trips; ev shows no one.
    assert hidden == {"meal", "garbage"}


def test_protect_never_hides_fixed_cells_and_keeps_a_null_child_under_a_null_parent():
    residents = {"month": 30, "week": 12, "other week": 25, "d1": 2, "d2": 11, "d3": 20}
    families = [
        Group("month", ("week", "other week")),
        Group("week", ("d1", "d2")),
        Group("other week", ("d3",)),
    ]
    hidden = protect(residents, families, K, fixed=frozenset({"month"}), hidden={"week"})
    assert "month" not in hidden
    assert {"week", "d1", "d2"} <= hidden  # d1 alone would be the week less d2
    assert "other week" in hidden  # the week alone would be the month less the other


def test_withheld_groups_are_those_of_one_to_k_minus_one_residents():
    assert withheld({"clean_plate": 1, "trip": 40, "ev": 0, "garbage": 9}, K) == {
        "clean_plate",
        "garbage",
    }
