"""Past-session tables: every bad value is one error naming row, column and value (exit 2 on
the command line, nothing written); edge cases that can be fitted are fitted."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

import forecast as fc
from forecast.analysis.history import read_history
from forecast.cli import main

GOOD = """influencer,tier,start,hours,views,products,units,gmv,likes,avg_stay_s
Li,mega,2021-06-01,5.5,3300000,63,69000,5600000,2500000,100
Li,mega,2021-06-03 20:00,4.0,2100000,50,40000,3400000,1600000,96
Bo,mid,2021-06-02,3.5,1100000,45,,1800000,1760000,
Bo,mid,,3.0,900000,,15000,1300000,,141
"""


def write(tmp_path: Path, text: str, name: str = "s.csv") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def with_row(row: str) -> str:
    return GOOD + row + "\n"


BAD = {
    "negative views": (
        "Li,mega,2021-06-05,5,-3,63,1,1,1,100",
        "row 5 (line 6), column views: '-3'",
    ),
    "non-numeric hours": ("Li,mega,2021-06-05,long,300,63,1,1,1,100", "column hours: 'long'"),
    "hours of 0": (
        "Li,mega,2021-06-05,0,300,63,1,1,1,100",
        "column hours: '0' is not allowed; must be in [1/60, 48] (a session of at least",
    ),
    "a session of half a minute": (
        "Li,mega,2021-06-05,0.008,300,63,1,1,1,10",
        "column hours: '0.008' is not allowed; must be in [1/60, 48]",
    ),
    "units far above views": (
        "Li,mega,2021-06-05,5,300,63,1000000000000,1,1,100",
        "column units: 1e+12 is not allowed; more than 10 a view of the row's 300 views",
    ),
    "units just above ten a view": (
        "Li,mega,2021-06-05,5,300,63,3001,1,1,100",
        "column units: 3001 is not allowed; more than 10 a view",
    ),
    "a stay longer than the session": (
        "Li,mega,2021-06-05,0.5,300,63,1,1,1,86400",
        "column avg_stay_s: 86400 is not allowed; longer than the session (0.5 h = 1,800 s)",
    ),
    "tier not in the list": (
        "Li,star,2021-06-05,5,300,63,1,1,1,100",
        "column tier: 'star' is not allowed; one of mega",
    ),
    "products not whole": ("Li,mega,2021-06-05,5,300,6.5,1,1,1,100", "column products: '6.5'"),
    "stay of 0": ("Li,mega,2021-06-05,5,300,6,1,1,1,0", "column avg_stay_s: '0'"),
    "bad date": ("Li,mega,yesterday,5,300,6,1,1,1,10", "column start: 'yesterday' is not a date"),
    "empty required cell": (
        ",mega,2021-06-05,5,300,6,1,1,1,10",
        "column influencer: empty; required",
    ),
    "tier changes for a host": (
        "Bo,mega,2021-06-05,5,300,6,1,1,1,10",
        "host 'Bo' is 'mid' in an earlier row",
    ),
    "infinite units": (
        "Li,mega,2021-06-05,5,300,6,inf,1,1,10",
        "column units: 'inf' is not allowed; must be a finite",
    ),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_value_is_one_line_naming_row_column_value(tmp_path: Path, case: str) -> None:
    row, expected = BAD[case]
    p = write(tmp_path, with_row(row))
    with pytest.raises(ValueError, match=None) as err:
        read_history(p)
    assert expected in str(err.value)
    assert "\n" not in str(err.value)


def test_every_bad_value_is_counted(tmp_path: Path) -> None:
    p = write(tmp_path, with_row("Li,mega,2021-06-05,-1,-3,63,-1,1,1,100"))
    with pytest.raises(ValueError, match=r"column hours: '-1'.*\(and 2 more bad values\)"):
        read_history(p)


def test_many_bad_rows_are_counted_past_the_three_spelled_out(tmp_path: Path) -> None:
    """Five rows of one bad value and four of an impossible pair: the first three of each
    kind are spelled out (one shown), the others counted."""
    p = write(tmp_path, with_row("Li,mega,2021-06-05,-1,3,63,1,1,1,100"))
    bad = pl.read_csv(p, infer_schema=False)
    five = pl.concat([bad.tail(1)] * 5)
    pl.concat([bad.head(1), five]).write_csv(p)
    with pytest.raises(ValueError, match=r"column hours: '-1'.*\(and 4 more bad values\)"):
        read_history(p)
    table = pl.concat([bad.head(1)] * 4).with_columns(pl.lit("30000").alias("avg_stay_s"))
    table.write_csv(p)
    with pytest.raises(
        ValueError,
        match=r"column avg_stay_s: 30000 is not allowed; longer.*\(and 3 more bad values\)",
    ):
        read_history(p)


def test_bad_input_on_the_command_line_exits_2_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    p = write(tmp_path, with_row("Li,mega,2021-06-05,5,-3,63,1,1,1,100"))
    out = tmp_path / "fit"
    assert main(["calibrate", str(p), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "row 5 (line 6), column views: '-3'" in err
    assert not out.exists()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("influencer,tier,hours\nLi,mega,5\n", "missing required column(s) views"),
        ("influencer,tier,hours,views\n", "no rows"),
        ("influencer,tier,hours,views\nLi,mega,5,0\nBo,mid,3,0\n", "every session has 0 views"),
    ],
)
def test_tables_that_cannot_be_fitted(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ValueError, match=None) as err:
        read_history(write(tmp_path, text))
    assert expected in str(err.value)


def test_not_a_table(tmp_path: Path) -> None:
    p = tmp_path / "x.csv"
    p.write_bytes(b"\x00\x01\x02binary" * 10)
    with pytest.raises(ValueError, match="not a table"):
        read_history(p)
    with pytest.raises(ValueError, match="is a directory"):
        read_history(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_history(tmp_path / "missing.csv")
    with pytest.raises(ValueError, match="a CSV or Parquet file or a polars DataFrame"):
        read_history(42)


def test_unknown_columns_reported_once_and_ignored(tmp_path: Path) -> None:
    text = GOOD.replace("avg_stay_s\n", "avg_stay_s,comments\n", 1)
    text = "\n".join(line + ",7" if i else line for i, line in enumerate(text.splitlines()))
    h = read_history(write(tmp_path, text + "\n"))
    assert h.notes == (
        f"{tmp_path / 's.csv'}: column 'comments' is not one of influencer, tier, "
        "start, hours, views, products, units, gmv, likes, avg_stay_s; ignored",
    )
    assert h.frame.columns[-1] == "avg_stay_s"


def test_missing_values_and_forms(tmp_path: Path) -> None:
    """Empty cells are missing; dates with and without times; a Parquet file and a
    DataFrame read the same; header names are matched without case or spaces."""
    h = read_history(write(tmp_path, GOOD.replace("influencer,tier", " Influencer ,TIER")))
    f = h.frame
    assert f.height == 4 and f.get_column("units").null_count() == 1
    assert f.get_column("start").null_count() == 1
    assert f.get_column("start").dtype == pl.Datetime("us")
    p = tmp_path / "s.parquet"
    f.write_parquet(p)
    assert read_history(p).frame.equals(f)
    assert read_history(f).frame.equals(f)
    assert read_history(p).digest == h.digest


def test_one_host_and_one_session_are_fitted(tmp_path: Path) -> None:
    """One host: its tier's spread rests on the prior (said in a note); one session: its
    host is fitted with a wide posterior; a new host of the tier is wider still."""
    one = (
        "influencer,tier,hours,views,units,likes,avg_stay_s\nLi,mega,5,3000000,60000,2000000,100\n"
    )
    cal = fc.calibrate(write(tmp_path, one), seed=1, draws=400)
    assert any("1 host" in n for n in cal.notes)
    li, new = cal.influencer("Li"), cal.new_influencer("mega", "x")
    assert 0.0 < li.host_traffic_sd < new.host_traffic_sd
    assert li.host_conversion_sd < new.host_conversion_sd
    with pytest.raises(KeyError, match="known: Li"):
        cal.influencer("Viya")
    with pytest.raises(ValueError, match="hosts of mega only"):
        cal.new_influencer("mid", "x")


def test_a_session_no_one_watched_is_fitted(tmp_path: Path) -> None:
    """0 views: a censored traffic observation, and nothing per view (no warning, which the
    suite turns into an error)."""
    p = write(tmp_path, with_row("Li,mega,2021-06-05,5,0,63,0,0,0,"))
    cal = fc.calibrate(p, seed=1, draws=200)
    assert cal.tiers[fc.Tier.MEGA].sessions["traffic"].tolist() == [3]
    assert cal.tiers[fc.Tier.MEGA].sessions["conversion"].tolist() == [2]


def _good_frame() -> pl.DataFrame:
    return pl.read_csv(GOOD.encode())


@pytest.mark.parametrize(
    ("column", "values", "expected"),
    [
        ("views", [[1, 2], [3], [4], [5]], "column views holds List(Int64) values"),
        ("units", [{"a": 1}, {"a": 2}, {"a": 3}, {"a": 4}], "column units holds Struct"),
        ("influencer", [["Li"], ["Li"], ["Bo"], ["Bo"]], "column influencer holds List(String)"),
        ("views", [True, False, True, True], "column views: True is not allowed; must be a"),
        ("hours", ["5", "x", "3", "3"], "row 2, column hours: 'x' is not allowed; must be a"),
        ("start", [1, 2, 3, 4], "row 1, column start: 1 is not a date or date-time"),
    ],
)
def test_wrong_types_in_parquet_and_frames_are_one_line(
    tmp_path: Path, column: str, values: list[object], expected: str
) -> None:
    """A Parquet history (or a DataFrame) whose column has the wrong type: list, struct,
    boolean, text that is no number, numbers that are no dates. One line naming the column
    (and the row and value where there is one), never an internal error."""
    frame = _good_frame().with_columns(pl.Series(column, values))
    path = tmp_path / "s.parquet"
    frame.write_parquet(path)
    for source in (path, frame):
        with pytest.raises(fc.HistoryError) as err:
            read_history(source)
        assert expected in str(err.value)
        assert "\n" not in str(err.value)


def test_a_byte_order_mark_is_not_part_of_the_first_name(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD.encode())
    assert read_history(path).frame.equals(read_history(write(tmp_path, GOOD)).frame)


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_another_separator_gets_a_hint(tmp_path: Path, sep: str) -> None:
    path = write(tmp_path, GOOD.replace(",", sep))
    with pytest.raises(fc.HistoryError) as err:
        read_history(path)
    assert f"separate its columns with {sep!r}" in str(err.value)


def test_a_large_history_is_checked_quickly(tmp_path: Path) -> None:
    """200,000 rows are read and checked in vectorized passes (no loop over rows): a bad
    value in the last row is found and named (the time is in bench/, not asserted here)."""
    rows = _good_frame().select(pl.all().repeat_by(50_000).explode())
    rows = rows.with_columns(pl.Series("views", [1000.0] * (rows.height - 1) + [-1.0]))
    with pytest.raises(fc.HistoryError, match=r"row 200000, column views: -1\.0 is not allowed"):
        read_history(rows)
