"""The ``forecast`` command line.

    forecast run FILE [--paths N] [--seed S] [--out FILE.parquet [--force]] [--threads T]
                 [--method M]
    forecast compare A.toml B.toml [...] [--paths N] [--seed S] [--objective O] [--threads T]
                     [--method M]
    forecast report PORTFOLIO.toml --out DIR [--resume] [--threads T]
    forecast calibrate SESSIONS --out DIR [--seed S] [--draws N]
    forecast predict FIT SESSIONS [--out FILE.parquet] [--method M] [--draws N] [--seed S]
    forecast demo [--paths N]

run, compare and report also take ``--cluster ADDRESS`` (a Dask scheduler) or ``--workers N``
(a local Dask cluster of N processes): see `forecast.engine.cluster`.

Bad input prints one line ``forecast: error: ...`` on stderr and exits with code 2, before
anything is simulated or written; files are written before anything is printed, and a
closed standard output (``forecast run X | head -1``) ends the command quietly with status
141, as a Unix tool killed by SIGPIPE.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import polars as pl

    from forecast.results.result import Forecast

DEMO_EXAMPLE = "mega_then_micro"
DEMO_PATHS = 10_000
DEMO_SEED = 20240701


DESCRIPTION = """\
Monte Carlo forecasts of livestream-commerce influencer campaigns: the distribution
of revenue and profit, tail risk (VaR, CVaR, probability of loss), and comparisons of
strategies on common random numbers."""

EXAMPLES = """examples:
  forecast demo                                   run a bundled example and explain it
  forecast run plan.toml --paths 1e5 --seed 7     summary of one strategy file
  forecast run plan.toml --seed 7 --out run.parquet
  forecast compare mega_first.toml micro_first.toml --seed 7
  forecast report portfolio.toml --out report/    Parquet files and an HTML page
  forecast calibrate past_sessions.csv --out fit/ fit hosts to their past sessions
  forecast predict fit/calibration.parquet august.csv   predictive of later sessions
  forecast optimize serum_space.toml --out best/   the best plan of a plan space
  forecast sensitivity plan.toml --inputs star.conversion=0.01:0.03 --out sens/

Strategy files are TOML (format: python -c "import forecast.model.strategy_file as m;
help(m)"); bundled examples are in forecast/examples/. Bad input prints one line and
exits with 2."""

#: Longest error line printed, characters.
MAX_ERROR_LINE = 600

#: Exit status of a command whose standard output was closed by its reader (128 + SIGPIPE).
EXIT_PIPE = 141


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"forecast: error: {message}\n")


def _plural(n: int, word: str, words: str | None = None) -> str:
    """``1 session``, ``2 sessions`` (`forecast.model.validation.plural`)."""
    from forecast.model.validation import plural

    return plural(n, word, words)


def _count(text: str) -> int:
    """A count given on the command line: ``10000``, ``10_000`` or ``1e6`` (a whole number)."""
    try:
        return int(text.replace("_", ""))
    except ValueError:
        pass
    try:
        x = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not x.is_integer() or abs(x) > 2**63:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number")
    return int(x)


def _seed(text: str) -> int:
    """A seed given on the command line: the same range in every command (`SEED_RANGE`)."""
    from forecast.engine.run import SEED_RANGE

    try:
        value = int(text.replace("_", ""))
    except ValueError:
        try:
            x = float(text)
        except ValueError:
            x = math.nan
        value = int(x) if x.is_integer() else -1
    if not 0 <= value < 2**64:
        raise argparse.ArgumentTypeError(f"{text!r} is not allowed; {SEED_RANGE}")
    return value


def _is_parquet(path: Path) -> bool:
    """Whether ``path`` starts and ends with Parquet's magic bytes."""
    try:
        with path.open("rb") as fh:
            head = fh.read(4)
            fh.seek(-4, os.SEEK_END)
            return head == b"PAR1" and fh.read(4) == b"PAR1"
    except OSError:
        return False


def check_writable_dir(directory: Path, given: str) -> None:
    """Refuse (ValueError naming ``given``, the path the user typed) a directory where a new
    file cannot be made: missing, not a directory, not writable, a read-only file system."""
    if not directory.exists():
        raise ValueError(f"--out {given!r}: the directory {str(directory)!r} does not exist")
    if not directory.is_dir():
        raise ValueError(f"--out {given!r}: {str(directory)!r} is not a directory")
    try:
        fd, probe = tempfile.mkstemp(dir=directory, prefix=".forecast-probe.")
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise ValueError(f"--out {given!r}: cannot write in {str(directory)!r}: {reason}") from None
    os.close(fd)
    os.unlink(probe)


def check_out_dir(given: str, why: str) -> Path:
    """``--out DIR`` checked before any work: not a file (``why`` says what needs the
    directory), and the nearest existing parent writable (`check_writable_dir`)."""
    out = Path(given)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {given!r} is a file; {why}")
    probe = out
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    check_writable_dir(probe, given)
    return out


def check_out_file(given: str, force: bool) -> None:
    """Refuse, before anything is simulated, an ``--out`` file that cannot or should not be
    written: a directory, a place where no file can be made, or an existing file that is not
    Parquet (unless ``force``)."""
    target = Path(given)
    if target.is_dir():
        raise ValueError(
            f"--out {given!r} is a directory; name a file in it, such as "
            f"{str(target / 'forecast.parquet')!r}"
        )
    check_writable_dir(target.parent if str(target.parent) else Path("."), given)
    if target.exists() and not force and not _is_parquet(target):
        raise ValueError(
            f"--out {given!r} exists and is not a Parquet file; not overwriting it (pass "
            "--force to replace it)"
        )


def _write_failed(given: str, err: OSError) -> ValueError:
    reason = err.strerror or str(err)
    return ValueError(f"cannot write --out {given!r}: {reason}; nothing was written")


_TABLE = {
    "tbl_rows": -1,
    "tbl_cols": -1,
    "tbl_hide_dataframe_shape": True,
    "tbl_hide_column_data_types": True,
    "thousands_separator": True,
    "tbl_width_chars": 250,
    "tbl_formatting": "ASCII_MARKDOWN",
}


def _show(frame: pl.DataFrame, precision: int = 2) -> str:
    """A table as the command line prints it: every row and column, thousands separated."""
    import polars as pl

    with pl.Config(float_precision=precision, **_TABLE):  # type: ignore[arg-type]
        return str(frame)


def _format_table(fc: Forecast) -> str:
    import polars as pl

    table = fc.summary()
    profit = table.filter(pl.col("metric") == "profit").row(0, named=True)
    risk = (
        f"profit risk (CNY): VaR95 {profit['var95']:,.0f}   CVaR95 {profit['cvar95']:,.0f}   "
        f"P(loss) {profit['p_loss']:.3f} ± {profit['p_loss_mcse']:.3f}"
    )
    return f"{_show(table.drop('var95', 'cvar95', 'p_loss', 'p_loss_mcse', 'n'))}\n\n{risk}"


def _print_result(fc: Forecast) -> None:
    print(fc)
    if fc.seed_drawn:
        print(f"(seed drawn at random; pass --seed {fc.seed} to reproduce this run)")
    print()
    print(_format_table(fc))


def _backend(args: argparse.Namespace) -> contextlib.AbstractContextManager[Any]:
    """The Dask backend ``--cluster`` / ``--workers`` ask for (None: run here)."""
    if args.workers is not None and args.workers < 1:
        raise ValueError(f"--workers = {args.workers} is not allowed; must be at least 1")
    if args.cluster is None and args.workers is None:
        return contextlib.nullcontext(None)
    if args.threads is not None:
        raise ValueError(
            f"--threads = {args.threads} is not allowed with --cluster or --workers; "
            "each worker uses its share of cores"
        )
    from forecast.engine.cluster import command_line_backend

    return command_line_backend(args.cluster, args.workers)


def _cmd_run(args: argparse.Namespace) -> int:
    from forecast.engine.run import run

    if args.out:
        check_out_file(args.out, args.force)
    with _backend(args) as backend:
        fc = run(
            args.file,
            paths=args.paths,
            seed=args.seed,
            method=args.method,
            threads=args.threads,
            progress=True,
            backend=backend,
        )
    if args.out:  # written before anything is printed: a closed pipe cannot lose it
        try:
            fc.to_parquet(args.out)
        except OSError as err:
            raise _write_failed(args.out, err) from None
    _print_result(fc)
    if args.out:
        print(f"\npath table written to {args.out}")
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    import polars as pl

    from forecast.analysis.compare import compare

    with _backend(args) as backend:
        cmp = compare(
            args.files,
            paths=args.paths,
            seed=args.seed,
            objective=args.objective,
            method=args.method,
            threads=args.threads,
            progress=True,
            backend=backend,
        )
    seed = (
        f"{cmp.seed} (drawn; pass --seed {cmp.seed} to reproduce)" if cmp.seed_drawn else cmp.seed
    )
    print(
        f"Comparison of {_plural(len(cmp.names), 'strategy', 'strategies')}"
        f" on common random numbers: {_plural(args.paths, 'path')} each, seed {seed}\n"
    )
    with pl.Config(float_precision=2, **_TABLE):  # type: ignore[arg-type]
        print(f"ranking by {args.objective}:")
        print(cmp.ranking())
        print("\nmeans per strategy:")
        summary = cmp.summary().filter(pl.col("metric").is_in(["net_sales", "profit"]))
        print(
            summary.select(
                "strategy",
                "metric",
                "mean",
                "mcse",
                "p5",
                "p50",
                "p95",
                "var95",
                "cvar95",
                "p_loss",
            )
        )
        print("\ninfluencer income per session (CNY; commission, fees and gifts they keep):")
        income = pl.concat(
            [
                f.sessions.select(
                    pl.lit(name).alias("strategy"),
                    pl.col("influencer_income").mean().alias("mean"),
                    pl.col("influencer_income").std().alias("sd"),
                    *(
                        pl.col("influencer_income")
                        .quantile(q, "linear")
                        .alias(f"p{round(q * 100)}")
                        for q in (0.05, 0.5, 0.95)
                    ),
                )
                for name, f in cmp.forecasts.items()
            ]
        )
        print(income)
        print("\npaired differences A - B (95 % interval; P(A beats B) with ties split):")
        pairs = cmp.pairwise(("net_sales", "profit"))
        shown = ("strategy_a", "strategy_b", "metric", "mean_diff", "ci_low", "ci_high")
        pairs = pairs.select(c for c in (*shown, "p_a_beats_b", "p_mcse") if c in pairs.columns)
        print(pairs)
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from forecast.reporting.builder import ReportInterrupted, report
    from forecast.reporting.portfolio import load_portfolio

    def note(text: str) -> None:
        print(f"forecast: {text}", file=sys.stderr)

    pf = load_portfolio(args.portfolio)
    check_out_dir(args.out, "the report needs a directory")
    try:
        with _backend(args) as backend:
            done = report(
                pf,
                args.out,
                resume=args.resume,
                threads=args.threads,
                progress=True,
                log=note,
                backend=backend,
            )
    except ReportInterrupted as stop:
        print(
            f"forecast: interrupted; {stop.done} of {_plural(stop.total, 'campaign')} are kept in "
            f"{stop.parts}. Continue with: forecast report {args.portfolio} --out {args.out} "
            "--resume",
            file=sys.stderr,
        )
        return 130
    methods = done.ranking.get_column("method").value_counts(sort=True)
    kernels = ", ".join(f"{m} {k}" for m, k in methods.iter_rows())
    print(
        f"Report of {pf.name!r}: {_plural(len(pf.campaigns), 'campaign')} x "
        f"{_plural(pf.paths, 'path')}, seed "
        f"{pf.seed}, money in {pf.currency} ({kernels}; {done.computed} computed, "
        f"{done.reused} reused) in {done.elapsed_s:.1f} s\n"
    )
    import polars as pl

    top = done.ranking.head(args.top).drop("objective", "value")  # value: one of the columns
    money = [c for c in top.columns if c not in ("rank", "campaign", "method", "p_loss")]
    top = top.with_columns(pl.col(money).round(0).cast(pl.Int64, strict=False))
    shown = f" (top {args.top} of {len(done.ranking)})" if len(done.ranking) > args.top else ""
    print(f"ranking by {pf.rank_by}{shown}; money in {pf.currency}:")
    print(_show(top, precision=3))
    print(f"\nwritten: {done.results_path}, {done.summary_path}, {done.html_path}")
    return 0


#: Files ``forecast calibrate`` writes into --out.
CALIBRATION_FILES = ("calibration.parquet", "predictive.parquet", "calibration.html")


#: Hosts whose posterior means `forecast calibrate` prints (the rest are on the page).
SHOWN_HOSTS = 30


def _cmd_calibrate(args: argparse.Namespace) -> int:
    import polars as pl

    from forecast.analysis.calibrate import calibrate
    from forecast.analysis.history import read_history
    from forecast.analysis.predictive import coverage, in_sample_draws
    from forecast.reporting.calibration_page import render
    from forecast.results.io import staged

    out = check_out_dir(args.out, "calibrate writes a directory")
    history = read_history(args.sessions)
    for note in history.notes:
        print(f"forecast: {note}", file=sys.stderr)
    cal = calibrate(history, seed=args.seed, draws=args.draws)
    draws = in_sample_draws(history.frame.height)
    table = cal.predict(history.frame, seed=args.seed, draws=draws)
    page = render(cal, table)
    targets = [out / name for name in CALIBRATION_FILES]
    try:
        with staged(*targets) as (fit_tmp, pred_tmp, html_tmp):
            cal.save(fit_tmp)
            table.write_parquet(pred_tmp)
            html_tmp.write_text(page, encoding="utf-8")
    except OSError as err:
        raise _write_failed(args.out, err) from None
    for note in cal.notes[len(history.notes) :]:
        print(f"forecast: {note}", file=sys.stderr)
    print(
        f"Calibrated {_plural(len(cal.hosts), 'host')} on "
        f"{_plural(history.frame.height, 'session')} of {history.source} "
        f"(seed {cal.meta['seed']}, {cal.meta['draws']:,} draws, "
        f"{cal.seconds:.1f} s)\n"
    )
    summary = cal.summary().filter(pl.col("host").is_not_null())
    wide = summary.pivot("parameter", index=["tier", "host"], values="mean")
    print("posterior means per host:")
    print(_show(wide.head(SHOWN_HOSTS), precision=4))
    if wide.height > SHOWN_HOSTS:
        print(
            f"({wide.height - SHOWN_HOSTS:,} more hosts: every one is in the page and in "
            "calibration.parquet)"
        )
    print(f"\nin-sample share inside the 90 % predictive interval ({draws:,} draws a session):")
    print(_show(coverage(table), precision=3))
    print(f"\nwritten: {', '.join(str(t) for t in targets)}")
    return 0


def _cmd_predict(args: argparse.Namespace) -> int:
    import polars as pl

    from forecast.analysis.calibrate import load_calibration
    from forecast.analysis.predictive import coverage

    if args.out:
        check_out_file(args.out, args.force)
    cal = load_calibration(args.calibration)
    with _backend(args) as backend:
        table = cal.predict(
            args.sessions, draws=args.draws, seed=args.seed, method=args.method, backend=backend
        )
    if args.out:  # written before anything is printed
        from forecast.results.io import atomic_write

        try:
            atomic_write(args.out, table.write_parquet)
        except OSError as err:
            raise _write_failed(args.out, err) from None
    sessions = table.get_column("session").n_unique()
    print(
        f"Predictive of {_plural(sessions, 'session')} from {args.calibration} "
        f"({args.method}, {args.draws:,} draws each, seed {args.seed})\n"
    )
    cov = coverage(table)
    if cov.height:
        print("share inside the 90 % predictive interval:")
        print(_show(cov, precision=3))
    else:
        wide = table.pivot("output", index=["session", "influencer"], values="p50")
        print("predictive medians (p50; the table has p05-p95):")
        print(_show(wide.with_columns(pl.exclude("session", "influencer").round(1))))
    if args.out:
        print(f"\nwritten: {args.out}")
    return 0


def _cmd_optimize(args: argparse.Namespace) -> int:
    from forecast.analysis.optimize import OptimizationInterrupted, optimize
    from forecast.reporting.optimize_page import write

    def note(text: str) -> None:
        print(f"forecast: {text}", file=sys.stderr)

    out = check_out_dir(args.out, "optimize writes a directory")
    stopped = False
    try:
        with _backend(args) as backend:
            opt = optimize(
                args.space,
                objective=args.objective,
                paths=args.paths,
                seed=args.seed,
                budget_s=args.budget_s,
                search=args.search,
                trials=args.trials,
                final_paths=args.final_paths,
                cvar_weight=args.cvar_weight,
                method=args.method,
                threads=args.threads,
                backend=backend,
                progress=True,
                log=note,
            )
    except OptimizationInterrupted as stop:
        opt, stopped = stop.result, True
    try:
        targets = write(opt, out)
    except OSError as err:
        raise _write_failed(args.out, err) from None
    print(opt.summary())
    print(f"\nwritten: {', '.join(str(t) for t in targets)}")
    if stopped:
        print(
            f"forecast: interrupted; {out / 'best.toml'} holds the best plan so far "
            f"({_plural(opt.evaluated, 'plan')} evaluated, not re-run on fresh streams)",
            file=sys.stderr,
        )
        return 130
    return 0


def parse_input(text: str) -> dict[str, object]:
    """One ``--inputs`` item: ``NAME=LOW:HIGH``, ``NAME=normal:MEAN:SD``,
    ``NAME=lognormal:MEDIAN:SDLOG``, ``NAME=triangular:LOW:MODE:HIGH``, ``NAME=posterior``,
    or a TOML file whose ``[inputs]`` table maps names to laws; as name -> law."""
    if "=" not in text:
        path = Path(text)
        if path.suffix == ".toml":
            from forecast.model.strategy_file import read_toml

            data = read_toml(path, "inputs file")
            table = data.get("inputs")
            if not isinstance(table, dict) or not table:
                raise ValueError(f"--inputs {text!r}: the file has no [inputs] table of laws")
            return dict(table)
        raise ValueError(
            f"--inputs {text!r} is not allowed; NAME=LOW:HIGH, NAME=normal:MEAN:SD, "
            "NAME=lognormal:MEDIAN:SDLOG, NAME=triangular:LOW:MODE:HIGH, NAME=posterior or a "
            "TOML file with an [inputs] table"
        )
    name, _, spec = text.partition("=")
    parts = spec.split(":")
    keys = {
        "normal": ("mean", "sd"),
        "lognormal": ("median", "sd_log"),
        "triangular": ("low", "mode", "high"),
    }

    def number(x: str) -> float:
        try:
            return float(x)
        except ValueError:
            raise ValueError(
                f"--inputs {text!r}: {x!r} is not a number ({name} = {spec!r} is not allowed)"
            ) from None

    if spec == "posterior":
        return {name: "posterior"}
    if parts[0] in keys:
        want = keys[parts[0]]
        if len(parts) != len(want) + 1:
            raise ValueError(f"--inputs {text!r}: a {parts[0]} law takes {':'.join(want).upper()}")
        return {name: {"dist": parts[0], **dict(zip(want, map(number, parts[1:]), strict=True))}}
    if len(parts) == 2:
        return {name: [number(parts[0]), number(parts[1])]}
    raise ValueError(
        f"--inputs {text!r}: {name} = {spec!r} is not allowed; LOW:HIGH, normal:MEAN:SD, "
        "lognormal:MEDIAN:SDLOG, triangular:LOW:MODE:HIGH or posterior"
    )


def _cmd_sensitivity(args: argparse.Namespace) -> int:
    from forecast.analysis.sensitivity import sensitivity
    from forecast.reporting.sensitivity_page import write

    out = check_out_dir(args.out, "sensitivity writes a directory")
    inputs: dict[str, object] = {}
    for item in args.inputs:
        for name, law in parse_input(item).items():
            if name in inputs:
                raise ValueError(f"--inputs: {name} is given twice")
            inputs[name] = law
    outputs = [o.strip() for o in args.outputs.split(",") if o.strip()]
    with _backend(args) as backend:
        result = sensitivity(
            args.file,
            inputs,
            outputs=outputs,
            method=args.sa_method,
            paths=args.paths,
            seed=args.seed,
            trajectories=args.trajectories,
            samples=args.samples,
            tornado=not args.no_tornado,
            kernel=args.method,
            threads=args.threads,
            backend=backend,
            progress=True,
        )
    try:
        targets = write(result, out)
    except OSError as err:
        raise _write_failed(args.out, err) from None
    print(result.summary())
    if result.seed_drawn:
        print(f"(seed drawn at random; pass --seed {result.seed} to reproduce this run)")
    print(f"\nwritten: {', '.join(str(t) for t in targets)}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:

    from forecast import examples
    from forecast.engine.run import run

    file = examples.path(DEMO_EXAMPLE)
    print(
        f"Demo: the bundled example {DEMO_EXAMPLE!r} ({file}).\n"
        "A celebrity host (mega) presents a CNY 199 serum at 20 % off on day 0 to a median\n"
        "3.3 M views; five smaller influencers follow on days 3-11. The campaign is simulated\n"
        f"{args.paths:,} times by the cohort kernel, which draws the counts of viewers per\n"
        "exposure pattern and audience class with the exact distribution of simulating every\n"
        "viewer (forecast run --method viewer does that, about 1,000 times slower). The table\n"
        "is the distribution of the brand's campaign outcome (CNY): mean with its Monte Carlo\n"
        "standard error (mcse) and quantiles p5..p95; below it the tail risk of profit.\n"
        "Viewers who bought from the star do not buy again from the smaller influencers\n"
        "(column 'saturated' per session).\n"
        "Try: forecast run micro_then_mega.toml, the same sessions in reverse order.\n"
    )
    fc = run(file, paths=args.paths, seed=args.seed, progress=True)
    _print_result(fc)
    print("\nmean per session:")
    print(_show(fc.session_summary().drop("session"), precision=1))
    return 0


def _cluster_options(p: argparse.ArgumentParser) -> None:
    """--cluster and --workers: run on Dask (pip install 'forecast[cluster]')."""
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--cluster", metavar="ADDRESS", default=None, help="run on the Dask scheduler there"
    )
    where.add_argument(
        "--workers",
        type=int,
        metavar="N",
        default=None,
        help="run on a local Dask cluster of N worker processes (cores shared among them)",
    )


def _kernel_options(p: argparse.ArgumentParser) -> None:
    """--threads, --method, --cluster and --workers, shared by the commands that simulate."""
    from forecast.engine.prepare import METHODS

    _cluster_options(p)
    p.add_argument("--threads", type=int, default=None, help="numba threads (default: all)")
    p.add_argument(
        "--method",
        default="auto",
        choices=METHODS,
        help="kernel: cohort (counts, exact), viewer (every arrival), auto (cohort when exact)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``forecast`` command."""
    from forecast.results.provenance import versions

    parser = _Parser(
        prog="forecast",
        description=DESCRIPTION,
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"forecast {versions()['forecast']}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    p_run = sub.add_parser("run", help="simulate a strategy file and print its summary")
    p_run.add_argument("file", help="strategy file (TOML)")
    p_run.add_argument(
        "--paths", type=_count, default=10_000, help="Monte Carlo paths (10000; 1e6 works)"
    )
    p_run.add_argument("--seed", type=_seed, default=None, help="seed (default: drawn, printed)")
    p_run.add_argument("--out", default=None, help="write the path table to this Parquet file")
    p_run.add_argument(
        "--force",
        action="store_true",
        help="with --out: replace an existing file that is not Parquet",
    )
    _kernel_options(p_run)
    p_run.set_defaults(func=_cmd_run)
    p_cmp = sub.add_parser("compare", help="compare strategy files on common random numbers")
    p_cmp.add_argument("files", nargs="+", help="two or more strategy files (TOML)")
    p_cmp.add_argument("--paths", type=_count, default=10_000, help="paths per strategy (10000)")
    p_cmp.add_argument("--seed", type=_seed, default=None, help="seed (default: drawn, printed)")
    p_cmp.add_argument(
        "--objective",
        default="mean_profit",
        choices=["mean_profit", "mean_net_sales", "cvar95", "p_loss"],
        help="ranking objective (mean_profit)",
    )
    _kernel_options(p_cmp)
    p_cmp.set_defaults(func=_cmd_compare)
    p_rep = sub.add_parser(
        "report", help="forecast every campaign of a portfolio file into Parquet and HTML"
    )
    p_rep.add_argument("portfolio", help="portfolio file (TOML, see forecast.reporting.portfolio)")
    p_rep.add_argument(
        "--out", required=True, metavar="DIR", help="directory for the report's files"
    )
    p_rep.add_argument(
        "--resume",
        action="store_true",
        help="keep the campaigns an interrupted report finished in --out and compute the rest",
    )
    p_rep.add_argument("--threads", type=int, default=None, help="numba threads (default: all)")
    _cluster_options(p_rep)
    p_rep.add_argument("--top", type=int, default=20, help="ranking rows printed (20)")
    p_rep.set_defaults(func=_cmd_report)
    p_cal = sub.add_parser(
        "calibrate", help="fit hosts to their past sessions (CSV or Parquet) into DIR"
    )
    p_cal.add_argument("sessions", help="past sessions, one row per session (CSV or Parquet)")
    p_cal.add_argument("--out", required=True, metavar="DIR", help="directory for the fit")
    p_cal.add_argument("--seed", type=_seed, default=0, help="seed of the posterior draws (0)")
    p_cal.add_argument("--draws", type=_count, default=1000, help="posterior draws kept (1000)")
    p_cal.set_defaults(func=_cmd_calibrate)
    p_pred = sub.add_parser(
        "predict", help="predictive distribution of sessions from a calibration (and coverage)"
    )
    p_pred.add_argument("calibration", help="calibration.parquet written by forecast calibrate")
    p_pred.add_argument(
        "sessions", help="sessions to predict, the history's format (views etc. optional)"
    )
    p_pred.add_argument("--out", default=None, help="write the predictive table (Parquet)")
    p_pred.add_argument("--force", action="store_true", help="replace a non-Parquet --out file")
    p_pred.add_argument(
        "--method",
        default="model",
        choices=["model", "kernel"],
        help="model: draws from the fit's laws (fast); kernel: each session by the simulator",
    )
    p_pred.add_argument("--draws", type=_count, default=2000, help="draws (paths) a session")
    p_pred.add_argument("--seed", type=_seed, default=0, help="seed (0)")
    _cluster_options(p_pred)
    p_pred.set_defaults(func=_cmd_predict, threads=None)
    p_opt = sub.add_parser(
        "optimize", help="search a plan space file for the best plan under an objective"
    )
    p_opt.add_argument("space", help="plan space file (TOML, see forecast.analysis.plan_space)")
    p_opt.add_argument("--out", required=True, metavar="DIR", help="directory for the results")
    p_opt.add_argument(
        "--objective",
        default=None,
        help="mean_profit (default), mean_net_sales, cvarNN (e.g. cvar95) or mean_cvarNN",
    )
    p_opt.add_argument(
        "--cvar-weight", type=float, default=None, help="weight of CVaR in mean_cvarNN (0.5)"
    )
    p_opt.add_argument(
        "--paths", type=_count, default=None, help="paths a candidate at the last rung (4000)"
    )
    p_opt.add_argument(
        "--final-paths", type=_count, default=None, help="paths of each fresh stream (4 x paths)"
    )
    p_opt.add_argument("--seed", type=_seed, default=None, help="seed (default: drawn, printed)")
    p_opt.add_argument(
        "--budget-s", type=float, default=None, help="wall seconds for the search (no limit)"
    )
    p_opt.add_argument(
        "--search",
        default=None,
        choices=["auto", "exhaustive", "optuna"],
        help="auto: every plan of a small space, else Optuna's TPE",
    )
    p_opt.add_argument("--trials", type=_count, default=None, help="plans Optuna evaluates (300)")
    p_opt.add_argument("--threads", type=int, default=None, help="numba threads (default: all)")
    p_opt.add_argument(
        "--method", default="cohort", choices=["cohort", "viewer"], help="kernel (cohort)"
    )
    _cluster_options(p_opt)
    p_opt.set_defaults(func=_cmd_optimize)
    p_sen = sub.add_parser(
        "sensitivity", help="which input drives the risk: Morris or Sobol indices and a tornado"
    )
    p_sen.add_argument("file", help="strategy file (TOML)")
    p_sen.add_argument(
        "--inputs",
        nargs="+",
        required=True,
        metavar="INPUT",
        help="NAME=LOW:HIGH (e.g. star.conversion=0.01:0.03), NAME=normal:MEAN:SD, "
        "NAME=lognormal:MEDIAN:SDLOG, NAME=triangular:LOW:MODE:HIGH, NAME=posterior, or a "
        "TOML file with an [inputs] table",
    )
    p_sen.add_argument("--out", required=True, metavar="DIR", help="directory for the results")
    p_sen.add_argument(
        "--outputs",
        default="mean_profit,cvar95",
        help="comma-separated: mean_profit, mean_net_sales, p_loss, varNN, cvarNN",
    )
    p_sen.add_argument(
        "--sa-method", default="morris", choices=["morris", "sobol"], help="morris (default)"
    )
    p_sen.add_argument("--paths", type=_count, default=2000, help="paths an evaluation (2000)")
    p_sen.add_argument("--seed", type=_seed, default=None, help="seed (default: drawn, printed)")
    p_sen.add_argument("--trajectories", type=_count, default=20, help="Morris r (20)")
    p_sen.add_argument("--samples", type=_count, default=1024, help="Sobol N, a power of 2")
    p_sen.add_argument("--no-tornado", action="store_true", help="skip the one-at-a-time runs")
    _kernel_options(p_sen)
    p_sen.set_defaults(func=_cmd_sensitivity)
    p_demo = sub.add_parser("demo", help="run a bundled example and explain what it shows")
    p_demo.add_argument("--paths", type=_count, default=DEMO_PATHS, help=f"paths ({DEMO_PATHS})")
    p_demo.add_argument("--seed", type=_seed, default=DEMO_SEED, help=f"seed ({DEMO_SEED})")
    p_demo.set_defaults(func=_cmd_demo)
    return parser


def _one_line(text: str) -> str:
    """An error message as one line of at most `MAX_ERROR_LINE` characters."""
    line = " ".join(text.split())
    if len(line) > MAX_ERROR_LINE:
        line = line[: MAX_ERROR_LINE - 30] + f"... ({len(line):,} characters)"
    return line


def _stdout_closed() -> int:
    """The reader of standard output went away: stop writing to it, quietly, as `head` expects
    of a Unix tool (Python's advice: point stdout at /dev/null so that the final flush at exit
    cannot fail again)."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return EXIT_PIPE


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (0 ok, 2 bad input, 130 interrupted, 141 standard
    output closed by its reader, 1 an internal error)."""
    try:
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as done:  # --help, --version, or a usage error already printed
            return done.code if isinstance(done.code, int) else 0 if done.code is None else 2
        with warnings.catch_warnings():  # numeric warnings never reach the terminal: a value
            # they would flag is refused or left out by the checks themselves
            if not os.environ.get("FORECAST_DEBUG"):
                warnings.simplefilter("ignore", RuntimeWarning)
            code: int = args.func(args)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        return _stdout_closed()
    except (ValueError, OSError, RecursionError, OverflowError) as err:
        print(f"forecast: error: {_one_line(str(err))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("forecast: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # a bug: one line, the traceback only when asked for
        if os.environ.get("FORECAST_DEBUG"):
            raise
        print(
            f"forecast: internal error: {type(err).__name__}: {_one_line(str(err))} (set "
            "FORECAST_DEBUG=1 for the traceback, and please report it)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
