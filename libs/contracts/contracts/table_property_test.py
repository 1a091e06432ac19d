"""Properties of every contract, for any rows: each row is accepted or rejected with a reason,
an accepted row keeps the contract, and a row's verdict does not depend on the other rows."""

import pandas as pd
from hypothesis import example, given
from hypothesis import strategies as st

from contracts.table import TableContract, apply_contract
from contracts.tables import CURATED_TABLES
from contracts.testing import landed_row, landed_rows

MISSING = st.sampled_from([None, ""])
TEXT = st.text(st.characters(codec="utf-8"), max_size=8)
INTEGER_TEXT = st.integers(-3000, 3000).map(str)
NUMBER_TEXT = st.floats(allow_nan=True, allow_infinity=True).map(str)
INSTANT_TEXT = st.datetimes(
    min_value=pd.Timestamp("2012-12-31").to_pydatetime(),
    max_value=pd.Timestamp("2013-01-02").to_pydatetime(),
).map(lambda t: t.strftime("%Y-%m-%dT%H:00:00Z"))


def values(contract: TableContract, column: str) -> st.SearchStrategy[str | None]:
    """A missing value, any text, or text of the column's type."""
    typed: st.SearchStrategy[str | None] = (
        INTEGER_TEXT if column in contract.integer_columns
        else NUMBER_TEXT if column in contract.float_columns
        else INSTANT_TEXT if column in contract.timestamp_columns
        else TEXT
    )  # fmt: skip
    return st.one_of(MISSING, TEXT, typed)


@st.composite
def row(draw: st.DrawFn, contract: TableContract) -> dict[str, str | None]:
    """The table's valid row with up to three values replaced: rows near the contract's edges."""
    values_of = landed_row(contract)
    for column in draw(st.lists(st.sampled_from(contract.columns), max_size=3)):
        values_of[column] = draw(values(contract, column))
    return {column: None if value == "NA" else value for column, value in values_of.items()}


@st.composite
def contract_and_rows(draw: st.DrawFn) -> tuple[TableContract, pd.DataFrame]:
    contract = draw(st.sampled_from(list(CURATED_TABLES.values())))
    rows = draw(st.lists(row(contract), min_size=1, max_size=6))
    return contract, pd.DataFrame(rows, columns=list(contract.columns), dtype=object)


@given(contract_and_rows())
# Found by CI: a 0 in an integer column was reported as 0.0 when another row failed on a float.
@example(
    (
        CURATED_TABLES["planes"],
        landed_rows(
            CURATED_TABLES["planes"],
            {"tailnum": None, "year": "0"},
            {"tailnum": None, "speed": "0"},
        ),
    )
)
def test_every_row_is_accepted_or_rejected_with_a_reason_on_its_own_merits(
    generated: tuple[TableContract, pd.DataFrame],
) -> None:
    contract, rows = generated
    result = apply_contract(contract, rows)

    assert len(result.reasons) == len(rows)
    assert result.valid.tolist() == (result.reasons == "").tolist()
    # What is accepted keeps the whole contract.
    contract.schema.validate(result.typed[result.valid])
    # A row's verdict is its own: no other row (a null, a value a check cannot take) changes it.
    for position in range(len(rows)):
        alone = apply_contract(contract, rows.iloc[[position]].reset_index(drop=True))
        assert alone.reasons.tolist() == [result.reasons.iloc[position]]
