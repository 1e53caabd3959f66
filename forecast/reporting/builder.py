"""Batch risk reports: every campaign of a portfolio forecast, written as Parquet and HTML.

`report(portfolio, out)` writes into the directory ``out``:

* ``results.parquet``: one row per path and campaign (``campaign``, ``path`` and every
  column of `forecast.engine.tables.paths_table`, money in the portfolio's currency), one row group
  per campaign. Its key-value metadata holds, as JSON under the key ``forecast``: the seed,
  paths, risk levels, currency, package versions, a digest of the code, the portfolio (file,
  its SHA-256, its content and settings), every campaign's strategy (all parameters) and
  kernel, and ``param_hash`` (`forecast.reporting.portfolio.Portfolio.param_hash`).
* ``summary.parquet``: per campaign and metric, the figures of `forecast.results.summary.summarize`
  with VaR and CVaR of profit at every risk level; the same metadata.
* ``report.html``: one self-contained page (figures embedded as PNG, no script, nothing
  fetched): the ranked table, a comparison chart and a risk-return chart across campaigns,
  and per campaign its profit distribution with VaR and CVaR marked and a fan chart of
  cumulative net sales over its sessions.

Safety. Every file is written to a temporary name and moved into place
(`forecast.results.io.staged`), the three together at the end: a report stopped at any point
leaves the previous report's files whole. Each finished campaign is kept at once in
``out/.forecast-parts/`` under a key of everything that determines its numbers
(`campaign_key`). After Ctrl-C, ``resume=True`` (``--resume``) reuses the parts whose key still
matches and computes the rest; results.parquet and summary.parquet are then identical, byte for
byte, to those of an uninterrupted run, and report.html differs only in the times it shows
(when it was made, seconds per campaign). The parts are removed once the report is written.
Without ``resume`` a new report starts from nothing.

Memory: one campaign's path table at a time, plus per campaign a histogram and a few
quantiles, so a portfolio of 200 campaigns x 10,000 paths runs within 2 GiB.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from forecast.model.validation import plural
from forecast.reporting.portfolio import Campaign, Portfolio, load_portfolio
from forecast.results.summary import DEFAULT_METRICS

if TYPE_CHECKING:
    import polars as pl
    import pyarrow as pa

    from forecast.engine.blocks import Blocks
    from forecast.engine.prepare import Prepared
    from forecast.reporting.plots import CampaignPlot

RESULTS = "results.parquet"
SUMMARY = "summary.parquet"
HTML = "report.html"
PARTS = ".forecast-parts"
PART_KEY = b"forecast_part"

#: Metrics of summary.parquet (money in the portfolio's currency).
REPORT_METRICS = (*DEFAULT_METRICS, "influencer_income")

Log = Callable[[str], None]


class ReportInterrupted(KeyboardInterrupt):
    """Ctrl-C during a report: ``done`` of ``total`` campaigns are kept in ``parts``."""

    def __init__(self, done: int, total: int, parts: Path) -> None:
        super().__init__(f"{done} of {plural(total, 'campaign')} finished")
        self.done, self.total, self.parts = done, total, parts


@dataclass
class Report:
    """A written report: its files, the summary and ranking, and what the run did."""

    portfolio: Portfolio
    out: Path
    summary: pl.DataFrame
    ranking: pl.DataFrame
    reused: int
    computed: int
    elapsed_s: float
    metadata: dict[str, Any] = field(repr=False)

    @property
    def results_path(self) -> Path:
        return self.out / RESULTS

    @property
    def summary_path(self) -> Path:
        return self.out / SUMMARY

    @property
    def html_path(self) -> Path:
        return self.out / HTML


def campaign_key(portfolio: Portfolio, campaign: Campaign) -> str:
    """SHA-256 (hex) of everything that determines a campaign's rows: its name and strategy,
    the seed, paths, kernel choice and currency, the package versions and the code digest.
    A kept part is reused on resume only under the same key."""
    from forecast.results.provenance import code_digest, versions

    blob = {
        "campaign": campaign.name,
        "strategy_sha256": campaign.strategy_sha256,
        "seed": portfolio.seed,
        "paths": portfolio.paths,
        "method": portfolio.method,
        "currency": portfolio.currency,
        "fx_per_cny": portfolio.fx_per_cny,
        "versions": versions(),
        "code_sha256": code_digest(),
    }
    return hashlib.sha256(json.dumps(blob, sort_keys=True).encode()).hexdigest()


def _resolve(portfolio: Portfolio | str | Path) -> Portfolio:
    if isinstance(portfolio, Portfolio):
        return portfolio
    return load_portfolio(portfolio)


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        from forecast.reporting.portfolio import PortfolioError

        raise PortfolioError(
            f"report: out = {str(out)!r} is not allowed; it is a file, and must be a directory"
        )


def campaign_output(
    portfolio: Portfolio, campaign: Campaign, prepared: Prepared, parts: list[Blocks]
) -> tuple[pa.Table, dict[str, Any]]:
    """A campaign's rows of results.parquet (an Arrow table, money in the portfolio's
    currency) and what the report draws of it (JSON-ready), from its simulated parts."""
    import numpy as np
    import polars as pl

    from forecast.engine.tables import MONEY_COLUMNS
    from forecast.reporting.plots import FAN_QUANTILES

    frame = pl.concat([p.paths for p in parts]).rechunk()
    net = np.concatenate([p.net for p in parts if p.net is not None])
    fx = portfolio.fx_per_cny
    if fx != 1.0:
        frame = frame.with_columns(pl.col(c) * fx for c in MONEY_COLUMNS)
        net *= fx
    frame = frame.insert_column(0, pl.lit(campaign.name, dtype=pl.String).alias("campaign"))
    cumulative = np.cumsum(net, axis=1)
    plot = {
        "campaign": campaign.name,
        "method": prepared.method,
        "elapsed_s": sum(p.seconds for p in parts),
        "session_labels": [f"d{x.day:g} {x.label}" for x in campaign.strategy.sessions],
        "fan": np.quantile(cumulative, FAN_QUANTILES, axis=0).tolist(),
        "fan_mean": cumulative.mean(axis=0).tolist(),
    }
    return frame.to_arrow(), plot


def _kind(type_: pa.DataType) -> str:
    """A column type's name with the layout-only variants folded together (string,
    large_string and string_view are all "string"), so the digest is of values."""
    import pyarrow as pa

    if pa.types.is_string(type_) or pa.types.is_large_string(type_) or str(type_) == "string_view":
        return "string"
    if pa.types.is_binary(type_) or pa.types.is_large_binary(type_):
        return "binary"
    return str(type_)


def content_sha256(table: pa.Table) -> str:
    """SHA-256 of a table's column names, logical types and values, and nothing else: the
    same for any chunking of the same table and for any Arrow version or IPC layout, so a
    kept part read back in a different number of chunks (as Parquet does past 131,072
    rows) still matches, and one whose values changed on disk does not."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    digest = hashlib.sha256()
    header = [[name, _kind(table.schema.field(name).type)] for name in table.column_names]
    digest.update(json.dumps({"rows": table.num_rows, "columns": header}).encode())
    for column in table.columns:
        values = column.combine_chunks() if column.num_chunks else pa.array([], column.type)
        kind = _kind(values.type)
        if values.null_count:
            digest.update(b"nulls")
            digest.update(np.packbits(values.is_null().to_numpy(zero_copy_only=False)).tobytes())
        if kind in ("string", "binary"):
            flat = values.cast(pa.large_binary())
            lengths = pc.fill_null(pc.binary_length(flat), 0).to_numpy(zero_copy_only=False)
            digest.update(np.ascontiguousarray(lengths, dtype="<i8").tobytes())
            offsets = np.frombuffer(flat.buffers()[1], dtype="<i8")[flat.offset :]
            data = flat.buffers()[2]
            if data is not None and len(flat):
                digest.update(data.to_pybytes()[offsets[0] : offsets[len(flat)]])
        elif pa.types.is_primitive(values.type):  # numbers, booleans, dates and times
            if values.null_count:
                values = pc.fill_null(values, pa.scalar(0).cast(values.type))
            array = np.ascontiguousarray(values.to_numpy(zero_copy_only=False))
            digest.update(array.tobytes())
        else:  # nested or dictionary columns: their values as JSON (not in kept parts today)
            digest.update(json.dumps(values.to_pylist(), default=str).encode())
    return digest.hexdigest()


def _write_part(path: Path, table: pa.Table, key: str, plot: dict[str, Any]) -> None:
    import pyarrow.parquet as pq

    from forecast.results.io import atomic_write

    info = {"key": key, "sha256": content_sha256(table), **plot}
    meta = {PART_KEY: json.dumps(info).encode()}
    atomic_write(path, lambda tmp: pq.write_table(table.replace_schema_metadata(meta), tmp))


def _part_info(metadata: dict[bytes, bytes] | None, key: str) -> dict[str, Any] | None:
    """What a kept part says of its campaign, if its key is ``key``."""
    try:
        info: dict[str, Any] = json.loads((metadata or {})[PART_KEY])
    except (KeyError, ValueError, TypeError):
        return None
    return info if isinstance(info, dict) and info.get("key") == key else None


def _read_part(path: Path, key: str) -> tuple[pa.Table, dict[str, Any]] | None:
    """A kept part if it is whole, its key matches and its values are the ones written (the
    content checksum), else None: a truncated, empty or damaged file is never used."""
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception:  # OSError, ArrowInvalid, ...: any file pyarrow cannot read back
        return None
    info = _part_info(table.schema.metadata, key)
    if info is None:
        return None
    plain = table.replace_schema_metadata(None)
    if info.get("sha256") != content_sha256(plain):
        return None
    return plain, info


def _usable_part(path: Path, key: str, campaign: str, say: Log) -> bool:
    """Whether the kept part of ``campaign`` can be reused on resume; a part that is there but
    damaged is removed, with a note, and its campaign computed again."""
    if not path.exists():
        return False
    if _read_part(path, key) is not None:
        return True
    try:  # a part of another key (an older report) is dropped silently, a damaged one noted
        import pyarrow.parquet as pq

        other_key = _part_info(pq.read_schema(path).metadata, key) is None
    except Exception:
        other_key = False
    if not other_key:
        say(f"the kept part of campaign {campaign!r} is damaged; computing it again")
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
    return False


#: The lock file of a report directory: the PID of the report writing into it, and when that
#: process started (so a PID the system has since given to another process is not obeyed).
LOCK = ".forecast-report.lock"


def _started(pid: int) -> str | None:
    """When process ``pid`` started (clock ticks since boot, field 22 of
    ``/proc/PID/stat``), or None where that cannot be read (not Linux, or gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()  # the name, in parentheses, may hold spaces
    return fields[19] if len(fields) > 19 else None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    except (OverflowError, OSError):  # not a PID at all
        return False
    return True


def _holder(lock: Path) -> int:
    """The PID of the live report that holds ``lock``, or 0 if none does: the file is
    unreadable, names no PID, names a process that is gone, or names a PID now held by a
    process that started at another time than the one that wrote it."""
    try:
        words = lock.read_text().split()
        pid = int(words[0]) if words else 0
    except (OSError, ValueError):
        return 0
    if pid <= 0 or pid == os.getpid() or not _pid_alive(pid):
        return 0
    written = words[1] if len(words) > 1 else None
    now = _started(pid)
    if written is not None and now is not None and written != now:
        return 0  # the PID was reused by an unrelated process
    return pid


@contextlib.contextmanager
def report_lock(target: Path) -> Iterator[None]:
    """Hold ``target``'s lock file (this process's PID and start time) while a report
    writes there; a second report into the same directory is refused in one line that
    names the lock file, and a lock left by a process that is gone (killed outright), or
    whose PID now belongs to another process, is taken over."""
    from forecast.reporting.portfolio import PortfolioError

    lock = target / LOCK
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = _holder(lock)
            if holder:
                raise PortfolioError(
                    f"report: out = {str(target)!r} is in use by another forecast report "
                    f"(process {holder}, lock file {str(lock)!r}); wait for it to finish, "
                    "write elsewhere, or delete the lock file if no report is running"
                ) from None
            if lock.is_dir():
                shutil.rmtree(lock)
            else:
                lock.unlink(missing_ok=True)  # stale: its process is gone
            continue
        except IsADirectoryError:  # pragma: no cover - O_EXCL reports a directory as existing
            shutil.rmtree(lock)
            continue
        with os.fdopen(fd, "w") as fh:
            fh.write(f"{os.getpid()} {_started(os.getpid()) or ''}\n")
        break
    else:  # pragma: no cover - another process took the stale lock between our two tries
        raise PortfolioError(
            f"report: out = {str(target)!r} is in use by another report (lock file {str(lock)!r})"
        )
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)


def _metadata(portfolio: Portfolio, kind: str, methods: dict[str, str]) -> dict[str, Any]:
    from forecast.model.strategy_file import strategy_to_dict
    from forecast.results.io import FORMAT
    from forecast.results.provenance import code_digest, versions

    return {
        "format": FORMAT,
        "kind": kind,
        "seed": portfolio.seed,
        "paths": portfolio.paths,
        "risk_levels": list(portfolio.risk_levels),
        "currency": portfolio.currency,
        "fx_per_cny": portfolio.fx_per_cny,
        "method_requested": portfolio.method,
        "methods": methods,
        "param_hash": portfolio.param_hash(),
        "portfolio": portfolio.describe(),
        "strategies": {c.name: strategy_to_dict(c.strategy) for c in portfolio.campaigns},
        "versions": versions(),
        "version": versions()["forecast"],
        "code_sha256": code_digest(),
    }


def _with_meta(table: pa.Table, meta: dict[str, Any]) -> pa.Table:
    from forecast.model.fitted import METADATA_KEY

    return table.replace_schema_metadata({METADATA_KEY: json.dumps(meta, sort_keys=True).encode()})


def ranking_table(portfolio: Portfolio, summary: pl.DataFrame) -> pl.DataFrame:
    """One row per campaign, best first by ``portfolio.rank_by`` (ties keep portfolio
    order): rank, campaign, method, the objective's value, mean net sales, mean profit and
    its mcse, p5 and p95 of profit, VaR and CVaR at each level, and P(loss)."""
    import polars as pl

    from forecast.results.risk import level_label

    metric, column, larger = portfolio.ranking_key()
    profit = summary.filter(pl.col("metric") == "profit")
    net = summary.filter(pl.col("metric") == "net_sales").select(
        "campaign", pl.col("mean").alias("mean_net_sales")
    )
    value = summary.filter(pl.col("metric") == metric).select(
        "campaign", pl.col(column).alias("value")
    )
    risk = [
        pl.col(f"{kind}{level_label(x)}") for x in portfolio.risk_levels for kind in ("var", "cvar")
    ]
    table = (
        profit.select(
            "campaign",
            "method",
            pl.col("mean").alias("mean_profit"),
            pl.col("mcse").alias("profit_mcse"),
            pl.col("p5").alias("profit_p5"),
            pl.col("p95").alias("profit_p95"),
            *risk,
            "p_loss",
        )
        .join(net, on="campaign", maintain_order="left")
        .join(value, on="campaign", maintain_order="left")
    )
    table = table.sort("value", descending=larger, maintain_order=True).with_row_index(
        "rank", offset=1
    )
    first = ["rank", "campaign", "method", "value", "mean_net_sales", "mean_profit"]
    return table.select(*first, *(c for c in table.columns if c not in first)).with_columns(
        pl.lit(portfolio.rank_by).alias("objective")
    )


def report(
    portfolio: Portfolio | str | Path,
    out: str | Path,
    *,
    resume: bool = False,
    threads: int | None = None,
    progress: bool = False,
    log: Log | None = None,
    backend: Any = None,
) -> Report:
    """Forecast every campaign of ``portfolio`` (a `Portfolio` or a portfolio file) and write
    results.parquet, summary.parquet and report.html into the directory ``out`` (created if
    needed; other files in it are left alone).

    Everything is checked before anything is simulated. ``resume``: reuse the campaigns a
    stopped report kept (see this module's docstring). ``threads``: numba threads.
    ``progress``: progress bars on a terminal. ``log``: called with one-line notes (kept
    campaigns reused or discarded). Ctrl-C raises `ReportInterrupted` (a KeyboardInterrupt)
    saying how many campaigns are kept. ``backend``: as in `forecast.run`; on a cluster
    every campaign's tasks are submitted at once, and each campaign is kept as soon as all
    its tasks are back (the files are the same bytes as a local report's).
    """
    from forecast.engine.backends import LocalBackend, check_backend
    from forecast.engine.prepare import check_cost, prepare, run_threads
    from forecast.engine.run import check_threads
    from forecast.progress import bar
    from forecast.results.io import remove_stale

    started = time.perf_counter()
    say = log or (lambda _: None)
    pf = _resolve(portfolio)
    target = Path(out)
    _check_out(target)
    threads = check_threads(threads)
    cluster = check_backend(backend, threads)
    local_threads = run_threads(threads) if isinstance(cluster, LocalBackend) else 1
    prepared = {}
    with bar(len(pf.campaigns), "checking campaigns", progress, unit="campaign") as tick:
        for c in pf.campaigns:
            try:
                prepared[c.name] = prepare(c.strategy, pf.method)
                check_cost(prepared[c.name], pf.paths, threads=local_threads, keep_sessions=False)
            except ValueError as err:
                from forecast.reporting.portfolio import PortfolioError

                where = pf.source or "portfolio"
                raise PortfolioError(f"{where}: campaign {c.name!r}: {err}") from None
            tick(1)
    keys = {c.name: campaign_key(pf, c) for c in pf.campaigns}
    meta = _metadata(pf, "portfolio_results", {n: p.method for n, p in prepared.items()})

    parts = target / PARTS
    target.mkdir(parents=True, exist_ok=True)
    with report_lock(target):
        remove_stale(target, (RESULTS, SUMMARY, HTML))
        if parts.exists() and not resume:
            old = len(list(parts.glob("*.parquet")))
            shutil.rmtree(parts)
            if old:
                kept = f"{old} campaign{'s' if old != 1 else ''}"
                say(f"discarded {kept} kept by a stopped report (--resume keeps them)")
        parts.mkdir(exist_ok=True)
        remove_stale(parts, [f"{k}.parquet" for k in keys.values()])

        total = len(pf.campaigns)
        reused = 0
        computed: list[str] = []
        try:
            with bar(total * pf.paths, f"report {pf.name}", progress) as tick:
                todo = []
                for c in pf.campaigns:
                    if resume and _usable_part(
                        parts / f"{keys[c.name]}.parquet", keys[c.name], c.name, say
                    ):
                        reused += 1
                        tick(pf.paths)
                    else:
                        todo.append(c)

                # each campaign kept as soon as it is whole (on a cluster, all run at once)
                jobs = [
                    cluster.submit(
                        prepared[c.name], pf.seed, pf.paths, keep_sessions=False, session_net=True
                    )
                    for c in todo
                ]

                def keep(i: int) -> None:
                    c = todo[i]
                    table, plot = campaign_output(pf, c, prepared[c.name], jobs[i].parts())
                    jobs[i].release()
                    _write_part(parts / f"{keys[c.name]}.parquet", table, keys[c.name], plot)
                    computed.append(c.name)

                cluster.gather(jobs, tick, on_done=keep)
            if reused:
                say(f"reused {reused} of {plural(total, 'campaign')} kept by the stopped report")
            tornados = _tornados(pf, cluster, progress)
            summary, ranking = _assemble(pf, target, parts, keys, meta, progress, tornados)
        except KeyboardInterrupt:
            raise ReportInterrupted(reused + len(computed), total, parts) from None
        shutil.rmtree(parts, ignore_errors=True)
        return Report(
            portfolio=pf,
            out=target,
            summary=summary,
            ranking=ranking,
            reused=reused,
            computed=len(computed),
            elapsed_s=time.perf_counter() - started,
            metadata=meta,
        )


def _tornados(pf: Portfolio, backend: Any, progress: bool) -> dict[str, bytes]:
    """The tornado chart of each campaign that has an input of the portfolio's ``[tornado]``
    (`forecast.analysis.sensitivity.tornado` on the portfolio's seed), money in its currency.
    Computed afresh by every report (2 k + 1 runs a campaign), never kept in the parts."""
    if pf.tornado is None:
        return {}
    from forecast.analysis.sensitivity import tornado
    from forecast.progress import bar
    from forecast.reporting.sensitivity_page import tornado_png

    out: dict[str, bytes] = {}
    t = pf.tornado
    with bar(len(pf.campaigns), "tornado charts", progress, unit="campaign") as tick:
        for c in pf.campaigns:
            mine = pf.tornado_inputs(c)
            if mine:
                table = tornado(
                    c.strategy,
                    mine,
                    [t["output"]],
                    t["paths"],
                    pf.seed,
                    kernel=pf.method,
                    backend=backend,
                )
                out[c.name] = tornado_png(table, t["output"], pf.fx_per_cny)
            tick(1)
    return out


def _assemble(
    pf: Portfolio,
    target: Path,
    parts: Path,
    keys: dict[str, str],
    meta: dict[str, Any],
    progress: bool,
    tornados: dict[str, bytes] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Stream the kept parts into results.parquet, summarize them, draw the report (with
    ``tornados``, a chart per campaign, when asked for), and move the three files into place
    together; returns the summary and the ranking."""
    import numpy as np
    import polars as pl
    import pyarrow.parquet as pq

    from forecast.progress import bar
    from forecast.reporting.html import render
    from forecast.reporting.plots import CampaignPlot, Histogram
    from forecast.results.io import staged
    from forecast.results.risk import level_label
    from forecast.results.summary import summarize

    plots: list[CampaignPlot] = []
    rows: list[pl.DataFrame] = []
    with staged(target / RESULTS, target / SUMMARY, target / HTML) as (res, summ, html):
        writer = None
        try:
            for c in pf.campaigns:
                found = _read_part(parts / f"{keys[c.name]}.parquet", keys[c.name])
                if found is None:
                    raise RuntimeError(f"campaign {c.name!r}: its kept part is unreadable")
                table, info = found
                if writer is None:
                    writer = pq.ParquetWriter(res, _with_meta(table, meta).schema)
                writer.write_table(table.cast(writer.schema))
                frame = pl.from_arrow(table)
                assert isinstance(frame, pl.DataFrame)
                stats = summarize(frame, REPORT_METRICS, pf.risk_levels)
                stats = stats.insert_column(0, pl.lit(info["method"]).alias("method"))
                rows.append(stats.insert_column(0, pl.lit(c.name).alias("campaign")))
                profit_row = stats.filter(pl.col("metric") == "profit").row(0, named=True)
                marks = [0.0, profit_row["mean"]]
                for x in pf.risk_levels:
                    lab = level_label(x)
                    marks += [-profit_row[f"var{lab}"], -profit_row[f"cvar{lab}"]]
                profit = frame.get_column("profit").to_numpy()
                plots.append(
                    CampaignPlot(
                        name=c.name,
                        method=info["method"],
                        elapsed_s=float(info["elapsed_s"] or 0.0),
                        session_labels=list(info["session_labels"]),
                        fan=np.asarray(info["fan"]),
                        fan_mean=np.asarray(info["fan_mean"]),
                        hist=Histogram.of(profit, marks),
                        profit=profit_row,
                    )
                )
        finally:
            if writer is not None:
                writer.close()
        summary = pl.concat(rows)
        pq.write_table(_with_meta(summary.to_arrow(), {**meta, "kind": "portfolio_summary"}), summ)
        ranking = ranking_table(pf, summary)
        with bar(2 * len(plots) + 2, "figures", progress, unit="fig") as tick:
            page = render(pf, summary, ranking, plots, meta, tick, tornados or {})
        Path(html).write_text(page, encoding="utf-8")
    return summary, ranking
