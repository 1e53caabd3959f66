"""Hardening, one test (or a few) per kind of defect a careless user meets: no hang and
Ctrl-C always works; no silent overflow; one line and exit 2 for every bad input; output
never lost; reports safe; values checked, not only keys; memory bounded before it is
spent; and the small things. Each failed on the code before the hardening."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import forecast as fc
from forecast.cli import main
from forecast.engine import limits
from tests.conftest import SERUM, tiny_influencer

ROOT = Path(__file__).resolve().parent.parent

TINY = """
name = "tiny"
[[products]]
name = "serum"
list_price = 100.0
unit_cost = 30.0
category = "beauty"
[[influencers]]
name = "amy"
tier = "micro"
views_per_hour = 200
[[sessions]]
influencer = "amy"
products = ["serum"]
hours = 1.0
"""


def tiny_file(tmp_path: Path, text: str = TINY, name: str = "tiny.toml") -> Path:
    f = tmp_path / name
    f.write_text(text)
    return f


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    """The one line a failed command printed on stderr (asserted to be one, no traceback)."""
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert lines[0].startswith("forecast: error: ")
    assert len(lines[0]) <= 700
    return lines[0]


def cli(*args: str, **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "forecast.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        **kw,
    )


# --- 1. no hang, and Ctrl-C always works ----------------------------------------------


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ("[market]\ntraffic_noise = 30", "traffic_noise"),
        ("[market]\nburst_lift = 1e30", "burst_lift"),
        ("[market]\nbin_minutes = 1e-6", "bin_minutes"),
        ("[[influencers]]\nname = 'x'\ntier = 'micro'\nviews_per_hour = 1e30", "views_per_hour"),
        ("[[influencers]]\nname = 'x'\ntier = 'micro'\ntraffic_sigma = 5", "traffic_sigma"),
    ],
)
def test_ranges_without_real_meaning_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], line: str, field: str
) -> None:
    """Each of these made a kernel loop for minutes; now the file is refused at once."""
    f = tiny_file(tmp_path, TINY + "\n" + line + "\n")
    started = time.perf_counter()
    assert main(["run", str(f), "--paths", "10"]) == 2
    assert field in one_error_line(capsys)
    assert time.perf_counter() - started < 10


def test_sigma_times_noise_is_bounded() -> None:
    amy = tiny_influencer("micro", "amy", traffic_sigma=2.0)
    with pytest.raises(ValueError, match="traffic_noise"):
        fc.Strategy([fc.Session(amy, [SERUM], hours=1)], fc.MarketParams(traffic_noise=2.0))


def test_per_viewer_work_is_bounded_before_the_run() -> None:
    """A per-viewer run expecting more than `MAX_VIEWER_ARRIVALS` arrivals is refused,
    naming paths and the estimate; the same strategy on the cohort kernel runs."""
    big = tiny_influencer("mega", "big", views_per_hour=5e7)
    plan = fc.Strategy([fc.Session(big, [SERUM], hours=10)])
    with pytest.raises(ValueError, match=r"paths = .*arrivals") as err:
        fc.run(plan, paths=1000, seed=1, method="viewer")
    assert "cohort" in str(err.value)
    assert fc.run(plan, paths=50, seed=1, method="cohort").paths.height == 50


def test_counts_that_could_overflow_are_refused() -> None:
    """At the largest traffic draw the sampler can make, a session must stay far from int64's
    limit: views_per_hour at its bound with the largest traffic sigma is refused."""
    huge = tiny_influencer("mega", "huge", views_per_hour=1e9, traffic_sigma=3.0)
    plan = fc.Strategy([fc.Session(huge, [SERUM], hours=48)])
    with pytest.raises(ValueError, match=r"views_per_hour.*at most"):
        fc.run(plan, paths=10, seed=1)


def test_ctrl_c_stops_a_long_kernel_call_at_once(tmp_path: Path) -> None:
    """SIGINT during one per-viewer kernel call of tens of seconds (one path of 5e8 arrivals)
    ends the command within seconds, exit 130; before, the call ran to its end."""
    f = tiny_file(
        tmp_path,
        TINY.replace("views_per_hour = 200", "views_per_hour = 1e8").replace(
            "hours = 1.0", "hours = 6.0"
        )
        + "[market]\ntraffic_noise = 0\nsession_effects = 0\nhost_uncertainty = 0\n",
    )
    warm = cli(
        "run", str(tiny_file(tmp_path, name="warm.toml")), "--paths", "2", "--method", "viewer"
    )
    assert warm.returncode == 0, warm.stderr
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "forecast.cli", "run", str(f), "--paths", "2"),
            *("--seed", "1", "--method", "viewer"),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(8.0)  # import, kernel load (or compile), and well into the first path
    assert proc.poll() is None, proc.communicate()
    sent = time.perf_counter()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    took = time.perf_counter() - sent
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert took < 5.0, f"took {took:.1f} s to stop"


# --- 2. no silent overflow -------------------------------------------------------------

HUGE = 1e308


@pytest.mark.parametrize(
    ("owner", "field"),
    [
        ("product", "list_price"),
        ("product", "unit_cost"),
        ("influencer", "slot_fee"),
        ("influencer", "experience_cost"),
        ("influencer", "gift_value_mean"),
        ("influencer", "likes_per_minute"),
        ("influencer", "comments_per_minute"),
        ("influencer", "gifts_per_hour"),
        ("influencer", "video_views"),
        ("influencer", "views_per_hour"),
        ("influencer", "dwell_mean_s"),
        ("market", "traffic_noise"),
        ("market", "reference_assortment"),
        ("market", "reference_categories"),
        ("market", "ramp_minutes"),
        ("market", "burst_minutes"),
        ("session", "day"),
    ],
)
def test_every_field_has_a_finite_upper_bound(owner: str, field: str) -> None:
    """1e308 in any amount or rate is refused with the field named (before, some gave inf
    fees, NaN profit or views of -2**63)."""
    with pytest.raises(ValueError, match=rf"\b{field} = 1e\+308 is not allowed; must be"):
        if owner == "product":
            fc.Product("p", **{"list_price": 10.0, "category": "beauty", field: HUGE})
        elif owner == "influencer":
            fc.Influencer.preset("micro", "x", **{field: HUGE})
        elif owner == "market":
            fc.MarketParams(**{field: HUGE})
        else:
            fc.Session(tiny_influencer("micro", "amy"), [SERUM], **{field: HUGE})


@pytest.mark.parametrize("big", [2**63, 10**400])
def test_whole_numbers_beyond_int64_are_refused(big: int) -> None:
    with pytest.raises(ValueError, match="followers"):
        fc.Influencer.preset("micro", "x", followers=big)
    with pytest.raises(ValueError, match="shared_audience"):
        fc.MarketParams(shared_audience=big)


def test_kernel_outputs_are_checked_before_a_table() -> None:
    """A negative count or a non-finite amount never reaches a table: clear error."""
    counts = np.zeros((3, 2, 13), dtype=np.int64)
    money = np.zeros((3, 2, 7))
    limits.check_outputs(counts, money, 0, ["a#0", "b#0"])
    counts[1, 1, 0] = -(2**63)
    with pytest.raises(
        ValueError, match=r"session 'b#0' of path 8: .*views = -9223372036854775808"
    ):
        limits.check_outputs(counts, money, 7, ["a#0", "b#0"])
    counts[1, 1, 0] = 0
    money[2, 0, 0] = np.nan
    with pytest.raises(ValueError, match="gmv = nan"):
        limits.check_outputs(counts, money, 0, ["a#0", "b#0"])
    money[2, 0, 0] = np.inf
    with pytest.raises(ValueError, match="gmv = inf"):
        limits.check_outputs(counts, money, 0, ["a#0", "b#0"])


def test_fx_beyond_reason_fails_at_load_not_after_the_simulation(tmp_path: Path) -> None:
    f = tiny_file(tmp_path)
    pf = tmp_path / "pf.toml"
    pf.write_text(f'campaigns = ["{f.name}"]\nseed = 1\ncurrency = "USD"\nfx_per_cny = 1e308\n')
    with pytest.raises(fc.PortfolioError, match="fx_per_cny"):
        fc.load_portfolio(pf)


# --- 3. one line, exit 2, for every bad input, never a traceback ------------------------


def _deep(n: int) -> str:
    return "[market]\nx = " + "[" * n + "]" * n + "\n"


BAD_FILES = {
    "deeply nested array": TINY + _deep(5000),
    "400-digit integer in a float field": TINY.replace(
        "list_price = 100.0", "list_price = 1" + "0" * 400
    ),
    "followers >= 2**63": TINY.replace("views_per_hour = 200", f"followers = {2**63}"),
    "positions = 5": TINY.replace("hours = 1.0", "hours = 1.0\npositions = 5"),
    "products = [['serum']]": TINY.replace('products = ["serum"]', 'products = [["serum"]]'),
    "influencer = {}": TINY.replace('influencer = "amy"', "influencer = {}"),
    "huge sensitivity, deep discount": TINY.replace(
        'category = "beauty"', 'category = "beauty"\ndiscount = 0.999999'
    )
    + "[market.discount_sensitivity]\nmega = 1e300\nmid = 1e300\nmicro = 1e300\n",
    "dwell_mean_s = 5e-324": TINY.replace("views_per_hour = 200", "dwell_mean_s = 5e-324"),
    "100 kB string value": TINY.replace('name = "tiny"', 'name = "' + "x" * 100_000 + '"'),
    "influencer name a table": TINY.replace('name = "amy"', "name = { a = 1 }"),
    "tier a list": TINY.replace('tier = "micro"', "tier = [1]"),
    "discounts key not a product": TINY.replace(
        "hours = 1.0", "hours = 1.0\ndiscounts = { x = 0.1 }"
    ),
    "market a number": TINY + "market = 3\n",
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_files_give_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    f = tiny_file(tmp_path, BAD_FILES[case])
    assert main(["run", str(f), "--paths", "10"]) == 2
    one_error_line(capsys)


def test_api_raises_valueerror_naming_the_field() -> None:
    with pytest.raises(ValueError, match="dwell_mean_s"):
        fc.Influencer.preset("micro", "x", dwell_mean_s=5e-324)
    with pytest.raises(ValueError, match=r"list_price = 1000.*characters"):
        fc.Product("p", list_price=10**400, category="beauty")
    with pytest.raises(ValueError, match="positions"):
        fc.Session(tiny_influencer("micro", "amy"), [SERUM], positions=5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="discount_sensitivity"):
        fc.MarketParams(discount_sensitivity={"mega": 1e300, "mid": 1, "micro": 1})
    with pytest.raises(ValueError, match="products"):
        fc.strategy_from_dict(
            {
                "products": [{"name": "serum", "list_price": 10.0, "category": "beauty"}],
                "influencers": [{"name": "a", "tier": "micro"}],
                "sessions": [{"influencer": "a", "products": [["serum"]]}],
            }
        )


def test_error_lines_are_capped() -> None:
    with pytest.raises(ValueError) as err:
        fc.Product("x" * 100_000, list_price=10.0)
    assert len(str(err.value)) < 300


def test_numpy_scalars_are_numbers() -> None:
    p = fc.Product(
        "serum",
        list_price=np.float32(199),
        unit_cost=np.int64(40),
        category="beauty",
        discount=np.float32(0.2),
    )
    amy = fc.Influencer.preset(
        "micro",
        "amy",
        followers=np.int64(5000),
        views_per_hour=np.float32(100.0),
        assortment=np.int32(5),
        categories=np.uint8(1),
    )
    s = fc.Session(amy, [p], hours=np.float64(1.0), day=np.int64(2), episode=np.int16(1))
    plan = fc.Strategy([s], fc.MarketParams(trust_penalty=np.float32(0.2)))
    assert fc.run(plan, paths=np.int64(20), seed=np.uint64(3)).paths.height == 20


# --- 4. output is never lost ---------------------------------------------------------------


def test_closed_stdout_is_the_end_of_a_pipe_and_the_file_is_written(tmp_path: Path) -> None:
    f, out = tiny_file(tmp_path), tmp_path / "f.parquet"
    cmd = f"{sys.executable} -m forecast.cli run {f} --paths 200 --seed 1 --out {out} | head -1"
    done = subprocess.run(
        ["bash", "-c", f"set -o pipefail; {cmd}; echo status=${{PIPESTATUS[0]}} >&2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr
    assert "status=141" in done.stderr
    assert done.stdout.startswith("Forecast of 'tiny'")
    assert fc.read_parquet(out).paths.height == 200
    for args in (["compare", str(f), str(f.with_name("b.toml"))], ["demo", "--paths", "200"]):
        tiny_file(tmp_path, TINY.replace('"tiny"', '"b"'), "b.toml")
        piped = subprocess.run(
            [
                "bash",
                "-c",
                f"{sys.executable} -m forecast.cli {' '.join(args)} --seed 1 | head -1"
                "; echo status=${PIPESTATUS[0]} >&2",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert "Traceback" not in piped.stderr and "status=141" in piped.stderr, piped.stderr


def test_out_is_checked_before_simulating(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import forecast.engine.run as run_module

    def refuse(*args: Any, **kw: Any) -> None:
        raise AssertionError("simulated before --out was checked")

    monkeypatch.setattr(run_module, "simulate", refuse)
    f = tiny_file(tmp_path)
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    cases = {
        str(tmp_path): "is a directory",
        str(tmp_path / "missing" / "f.parquet"): "does not exist",
        str(notes): "not a Parquet file",
    }
    if os.geteuid() != 0:  # root writes anywhere
        cases[str(locked / "f.parquet")] = "cannot write"
    for given, message in cases.items():
        assert main(["run", str(f), "--paths", "10", "--out", given]) == 2
        line = one_error_line(capsys)
        assert message in line and repr(given) in line
    assert notes.read_text() == "my notes"


def test_force_replaces_a_non_parquet_file(tmp_path: Path) -> None:
    f, notes = tiny_file(tmp_path), tmp_path / "notes.txt"
    notes.write_text("my notes")
    assert (
        main(["run", str(f), "--paths", "10", "--seed", "1", "--out", str(notes), "--force"]) == 0
    )
    assert fc.read_parquet(notes).paths.height == 10
    # an existing Parquet file is replaced without --force
    assert main(["run", str(f), "--paths", "12", "--seed", "1", "--out", str(notes)]) == 0
    assert fc.read_parquet(notes).paths.height == 12


def test_a_full_disk_names_the_users_path_and_keeps_the_old_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    import pyarrow.parquet as pq

    f, out = tiny_file(tmp_path), tmp_path / "r.parquet"
    assert main(["run", str(f), "--paths", "10", "--seed", "1", "--out", str(out)]) == 0
    before = out.read_bytes()
    capsys.readouterr()

    def full(*args: Any, **kw: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pq, "write_table", full)
    assert main(["run", str(f), "--paths", "10", "--seed", "2", "--out", str(out)]) == 2
    line = one_error_line(capsys)
    assert repr(str(out)) in line and "No space left" in line and ".tmp" not in line
    assert out.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


# --- 5. reports stay safe --------------------------------------------------------------------


def _portfolio(tmp_path: Path) -> Path:
    for name in ("a", "b", "c"):
        tiny_file(tmp_path, TINY.replace('"tiny"', f'"{name}"'), f"{name}.toml")
    pf = tmp_path / "pf.toml"
    pf.write_text('campaigns = ["a.toml", "b.toml", "c.toml"]\nseed = 3\npaths = 300\n')
    return pf


@pytest.mark.parametrize("damage", ["flip a bit", "truncate", "empty"])
def test_a_damaged_kept_part_is_computed_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    """A kept part that is truncated, empty or has one flipped bit in its values is never
    reused: the resumed report computes it again, says so, and matches a fresh report."""
    import types

    from forecast.reporting import builder

    pf = _portfolio(tmp_path)
    fresh = fc.report(pf, tmp_path / "fresh")
    out = tmp_path / "out"
    with monkeypatch.context() as m:  # a report that keeps its parts, as a stopped one does
        m.setattr(builder, "shutil", types.SimpleNamespace(rmtree=lambda *a, **k: None))
        fc.report(pf, out)
    portfolio = fc.load_portfolio(pf)
    key = builder.campaign_key(portfolio, portfolio.campaigns[1])
    victim = out / builder.PARTS / f"{key}.parquet"
    blob = bytearray(victim.read_bytes())
    if damage == "flip a bit":
        blob[len(blob) // 3] ^= 0x04  # inside the column data, not the footer
    elif damage == "truncate":
        blob = blob[: len(blob) // 2]
    else:
        blob = bytearray()
    victim.write_bytes(bytes(blob))
    notes: list[str] = []
    done = fc.report(pf, out, resume=True, log=notes.append)
    assert done.reused == 2 and done.computed == 1
    assert any("damaged" in n and "'b'" in n for n in notes), notes
    for name in (builder.RESULTS, builder.SUMMARY):
        assert (out / name).read_bytes() == (fresh.out / name).read_bytes()


def test_two_reports_into_one_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A live holder's lock refuses the second report in one line; a stale one (its process
    gone) is taken over and removed at the end."""
    from forecast.reporting import builder

    pf, out = _portfolio(tmp_path), tmp_path / "out"
    out.mkdir()
    (out / builder.LOCK).write_text(f"{os.getppid()}\n")  # the process that started us: alive
    assert main(["report", str(pf), "--out", str(out)]) == 2
    assert "in use by another forecast report" in one_error_line(capsys)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    (out / builder.LOCK).write_text(f"{gone.pid}\n")
    assert main(["report", str(pf), "--out", str(out)]) == 0
    assert not (out / builder.LOCK).exists()


# --- 6. values checked, not only keys -----------------------------------------------------


def test_a_misspelled_category_is_refused_with_a_suggestion(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tiny_file(tmp_path, TINY.replace('"beauty"', '"beuaty"'))
    assert main(["run", str(f), "--paths", "10"]) == 2
    assert "did you mean 'beauty'" in one_error_line(capsys)
    own = fc.Product("p", list_price=10.0, category="pet_food", return_rate=0.1)
    assert own.returns == 0.1  # a category of one's own, with its own return rate


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("method = 'cohrt'", "method"),
        ("rank_by = 'mean_proft'", "rank_by"),
    ],
)
def test_portfolio_names_from_fixed_lists(tmp_path: Path, text: str, field: str) -> None:
    tiny_file(tmp_path)
    pf = tmp_path / "pf.toml"
    pf.write_text(f'campaigns = ["tiny.toml"]\nseed = 1\n{text}\n')
    with pytest.raises(fc.PortfolioError, match=rf"{field} = .*did you mean"):
        fc.load_portfolio(pf)


@pytest.mark.parametrize(
    ("replace", "field"),
    [
        (('tier = "micro"', 'tier = "mikro"'), "tier"),
        (("hours = 1.0", 'hours = 1.0\nformat = "vidoe"'), "format"),
        (('category = "beauty"', 'category = "beauty"\nkind = "vocher"'), "kind"),
    ],
)
def test_enum_fields_list_what_is_allowed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], replace: tuple[str, str], field: str
) -> None:
    f = tiny_file(tmp_path, TINY.replace(*replace))
    assert main(["run", str(f), "--paths", "10"]) == 2
    assert re.search(rf"{field} = .* must be one of", one_error_line(capsys))


# --- 7. memory is bounded before it is spent -------------------------------------------------


def test_a_run_that_would_not_fit_is_refused_with_the_estimate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "available_memory", lambda: 2 * 2**30)
    f = tiny_file(tmp_path)
    started = time.perf_counter()
    assert main(["run", str(f), "--paths", "1e8"]) == 2
    line = one_error_line(capsys)
    assert "100,000,000 paths" in line and "GiB of memory" in line and "1.6 GiB may be used" in line
    assert time.perf_counter() - started < 10


def test_per_viewer_state_counts_every_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """The carried state of the per-viewer kernel is one workspace per thread: what fits on
    one thread may not fit on two."""
    from forecast.engine.compile import compile_strategy

    star = tiny_influencer("mega", "star", followers=400_000_000)
    plan = fc.Strategy(
        [fc.Session(star, [SERUM], hours=1), fc.Session(star, [SERUM], hours=1, day=1)]
    )
    compiled = compile_strategy(plan)
    per_thread = compiled.state_bytes
    assert per_thread > 1.5e9
    monkeypatch.setattr(limits, "available_memory", lambda: int(per_thread * 2.0))
    compiled.check_viewer_memory("plan", threads=1)
    with pytest.raises(ValueError, match=r"on 2 threads.*GiB"):
        compiled.check_viewer_memory("plan", threads=2)


# --- 8. small things a user meets ------------------------------------------------------------


def test_binary_and_directory_strategy_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    binary = tmp_path / "plan.toml"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe")
    assert main(["run", str(binary)]) == 2
    line = one_error_line(capsys)
    assert str(binary) in line and "UTF-8" in line
    assert main(["run", str(tmp_path)]) == 2
    assert "is a directory" in one_error_line(capsys)


def test_compare_a_file_with_itself_gives_advice_for_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tiny_file(tmp_path)
    assert main(["compare", str(f), str(f), "--paths", "10"]) == 2
    line = one_error_line(capsys)
    assert "given twice" in line and "mapping" not in line


def test_a_portfolio_listing_a_file_twice_says_so(tmp_path: Path) -> None:
    tiny_file(tmp_path)
    pf = tmp_path / "pf.toml"
    pf.write_text('campaigns = ["tiny.toml", "tiny.toml"]\nseed = 1\n')
    with pytest.raises(fc.PortfolioError, match="twice"):
        fc.load_portfolio(pf)


def test_paths_in_scientific_notation_and_plurals(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tiny_file(tmp_path)
    assert main(["run", str(f), "--paths", "1e2", "--seed", "1"]) == 0
    assert "100 paths" in capsys.readouterr().out
    assert main(["run", str(f), "--paths", "2.5"]) == 2
    assert "'2.5' is not a whole number" in capsys.readouterr().err
    pf = tmp_path / "pf.toml"
    pf.write_text('campaigns = ["tiny.toml"]\nseed = 1\npaths = 1\n')
    assert main(["report", str(pf), "--out", str(tmp_path / "r")]) == 0
    text = capsys.readouterr().out
    assert "1 campaign x 1 path," in text


def test_help_has_examples_and_no_markup(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    assert "examples:" in text and "forecast run" in text
    assert "``" not in text and "`" not in text


def test_report_labels_stay_inside_their_figures() -> None:
    """The risk-return chart's labels of points near the right edge used to run off it."""
    import io

    from matplotlib.image import imread

    from forecast.reporting import plots

    names = ["one_mid_influencer", "amateur_swarm", "mega_only_with_a_long_name", "mega_deep"]
    png = plots.risk_return_chart(
        names,
        np.array([1.0, 0.5, -0.2, -0.3]) * 1e5,
        np.array([-2e4, 0.0, 7.6e4, 7.8e4]),
        0.95,
        "CNY",
    )
    image = imread(io.BytesIO(png))
    # the rightmost 3 px columns are background: nothing is drawn up to the edge
    edge = image[:, -3:, :3]
    assert np.all(edge > 0.95), "something is drawn at the right edge"


def test_the_campaign_table_adds_up() -> None:
    import polars as pl

    from forecast.reporting.html import _campaign_table

    metrics = ["views", "orders", "units", "gmv", "returns", "net_sales", "commission", "fees"]
    metrics += ["cost", "profit", "roi"]
    summary = pl.DataFrame(
        {"campaign": ["c"] * len(metrics), "metric": metrics}
        | {k: [1.0] * len(metrics) for k in ("mean", "sd", "p5", "p50", "p95")}
    )
    html = _campaign_table(summary, "c")
    shown = re.findall(r"<td[^>]*>([a-z_]+)</td>", html)
    assert shown[3:10] == ["gmv", "returns", "net_sales", "fees", "commission", "cost", "profit"]


def test_benchmark_helpers_work_with_benchmarks_disabled() -> None:
    """`python -m pytest bench --benchmark-disable` used to fail: no stats are kept then."""
    from bench.conftest import interleaved

    class Disabled:
        disabled = True
        stats = None

        def pedantic(self, target: Any, **kw: Any) -> None:
            target()

    calls: list[str] = []
    rounds = interleaved(Disabled(), lambda: calls.append("t"), {"p": lambda: calls.append("p")})
    assert len(rounds.target) == len(rounds.partners["p"]) > 0
