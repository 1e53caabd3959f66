"""The ``forecast`` command line.

    forecast run FILE [--paths N] [--seed S] [--out FILE.parquet] [--threads T] [--method M]
    forecast compare A.toml B.toml [...] [--paths N] [--seed S] [--objective O] [--threads T]
                     [--method M]
    forecast report PORTFOLIO.toml --out DIR [--resume] [--threads T]
    forecast demo [--paths N]

run, compare and report also take ``--cluster ADDRESS`` (a Dask scheduler) or ``--workers N``
(a local Dask cluster of N processes): see `forecast.engine.cluster`.

Bad input prints one line ``forecast: error: ...`` on stderr and exits with code 2.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import polars as pl

    from forecast.results.result import Forecast

DEMO_EXAMPLE = "mega_then_micro"
DEMO_PATHS = 10_000
DEMO_SEED = 20240701


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"forecast: error: {message}\n")


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
    _print_result(fc)
    if args.out:
        fc.to_parquet(args.out)
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
        f"Comparison of {len(cmp.names)} strategies on common random numbers: "
        f"{args.paths:,} paths each, seed {seed}\n"
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
        pairs = cmp.pairwise(("net_sales", "profit")).select(
            "strategy_a",
            "strategy_b",
            "metric",
            "mean_diff",
            "ci_low",
            "ci_high",
            "p_a_beats_b",
            "p_mcse",
        )
        print(pairs)
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from forecast.reporting.builder import ReportInterrupted, report
    from forecast.reporting.portfolio import load_portfolio

    def note(text: str) -> None:
        print(f"forecast: {text}", file=sys.stderr)

    pf = load_portfolio(args.portfolio)
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
            f"forecast: interrupted; {stop.done} of {stop.total} campaigns are kept in "
            f"{stop.parts}. Continue with: forecast report {args.portfolio} --out {args.out} "
            "--resume",
            file=sys.stderr,
        )
        return 130
    methods = done.ranking.get_column("method").value_counts(sort=True)
    kernels = ", ".join(f"{m} {k}" for m, k in methods.iter_rows())
    print(
        f"Report of {pf.name!r}: {len(pf.campaigns)} campaigns x {pf.paths:,} paths, seed "
        f"{pf.seed}, money in {pf.currency} ({kernels}; {done.computed} computed, "
        f"{done.reused} reused) in {done.elapsed_s:.1f} s\n"
    )
    import polars as pl

    top = done.ranking.head(args.top).drop("objective", "value")  # value: one of the columns
    money = [c for c in top.columns if c not in ("rank", "campaign", "method", "p_loss")]
    top = top.with_columns(pl.col(money).round(0).cast(pl.Int64))
    shown = f" (top {args.top} of {len(done.ranking)})" if len(done.ranking) > args.top else ""
    print(f"ranking by {pf.rank_by}{shown}; money in {pf.currency}:")
    print(_show(top, precision=3))
    print(f"\nwritten: {done.results_path}, {done.summary_path}, {done.html_path}")
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

    parser = _Parser(prog="forecast", description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--version", action="version", version=f"forecast {versions()['forecast']}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    p_run = sub.add_parser("run", help="simulate a strategy file and print its summary")
    p_run.add_argument("file", help="strategy file (TOML)")
    p_run.add_argument("--paths", type=int, default=10_000, help="Monte Carlo paths (10000)")
    p_run.add_argument("--seed", type=int, default=None, help="seed (default: drawn, printed)")
    p_run.add_argument("--out", default=None, help="write the path table to this Parquet file")
    _kernel_options(p_run)
    p_run.set_defaults(func=_cmd_run)
    p_cmp = sub.add_parser("compare", help="compare strategy files on common random numbers")
    p_cmp.add_argument("files", nargs="+", help="two or more strategy files (TOML)")
    p_cmp.add_argument("--paths", type=int, default=10_000, help="paths per strategy (10000)")
    p_cmp.add_argument("--seed", type=int, default=None, help="seed (default: drawn, printed)")
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
    p_demo = sub.add_parser("demo", help="run a bundled example and explain what it shows")
    p_demo.add_argument("--paths", type=int, default=DEMO_PATHS, help=f"paths ({DEMO_PATHS})")
    p_demo.add_argument("--seed", type=int, default=DEMO_SEED, help=f"seed ({DEMO_SEED})")
    p_demo.set_defaults(func=_cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (0 ok, 2 bad input)."""
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
        return code
    except (ValueError, FileNotFoundError, IsADirectoryError, PermissionError) as err:
        print(f"forecast: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("forecast: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
