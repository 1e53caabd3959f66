"""`Forecast`: the result of a run, as polars tables, with its provenance."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from forecast.model.entities import Strategy
from forecast.model.validation import plural

if TYPE_CHECKING:
    import polars as pl


def strategy_hash(strategy: Strategy) -> str:
    """SHA-256 of the strategy's canonical JSON (every parameter), hex."""
    from forecast.model.strategy_file import strategy_to_dict

    blob = json.dumps(strategy_to_dict(strategy), sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()


@dataclass
class Forecast:
    """Monte Carlo forecast of one strategy.

    ``paths``: one row per simulated campaign (see `forecast.engine.tables` for every column);
    ``sessions``: one row per path and session; ``summary()``: the distribution per metric.
    ``seed`` reproduces the run: ``forecast.run(strategy, paths=n_paths, seed=seed,
    method=method)`` gives the same tables bit for bit, whatever the thread count or chunking.
    ``method`` is the kernel that ran: "cohort" or "viewer".
    """

    strategy: Strategy
    seed: int
    n_paths: int
    method: str
    paths: pl.DataFrame
    _sessions: pl.DataFrame | None = field(default=None, repr=False)
    _session_means: pl.DataFrame | None = field(default=None, repr=False)
    seed_drawn: bool = False
    elapsed_s: float | None = None
    metadata: dict[str, Any] = field(default_factory=dict, repr=False)
    rebuild: Callable[[Forecast, bool], Forecast] | None = field(
        default=None, repr=False, compare=False
    )
    """Reruns this forecast from its recorded strategy and seed (with the session table if
    asked): handed in by the engine that made it (`forecast.engine.run.rerun`), so results
    never import the engine."""

    def _rerun(self, keep_sessions: bool) -> Forecast:
        """This run again from its recorded strategy and seed, checked to reproduce it."""
        if self.rebuild is None:
            raise ValueError(
                "cannot rebuild the session tables: this Forecast was made without an engine "
                "to rerun it; read files with forecast.read_parquet"
            )
        again = self.rebuild(self, keep_sessions)
        if not again.paths.equals(self.paths):
            raise ValueError(
                "cannot rebuild the session tables: rerunning the recorded strategy and seed "
                f"with forecast {again.metadata.get('version')} does not reproduce the file "
                f"written by forecast {self.metadata.get('version')}"
            )
        return again

    @property
    def sessions(self) -> pl.DataFrame:
        """One row per path and session. A run of more than
        `forecast.engine.run.EAGER_SESSION_ROWS` rows, or a forecast read back from Parquet (the
        file holds the path table), rebuilds it on first use by rerunning the recorded
        strategy and seed (checked to reproduce the path table), then keeps it."""
        if self._sessions is None:
            again = self._rerun(keep_sessions=True)
            self._sessions = again._sessions
            self._session_means = again._session_means
        assert self._sessions is not None
        return self._sessions

    def summary(self, metrics: tuple[str, ...] | None = None) -> pl.DataFrame:
        """Per metric (default `forecast.results.summary.DEFAULT_METRICS`): n, mean, sd, mcse, p5,
        p25, p50, p75, p95, and for profit var95, cvar95, p_loss, p_loss_mcse (conventions in
        `forecast.results.summary`)."""
        from forecast.results.summary import DEFAULT_METRICS, summarize

        return summarize(self.paths, DEFAULT_METRICS if metrics is None else metrics)

    def session_summary(self) -> pl.DataFrame:
        """Mean outcomes of each session over paths (views, exposures, penalized, saturated,
        orders, units; gmv, net sales, commission, fees, profit in CNY), summed during the
        run without needing the session table."""
        if self._session_means is None:
            self._session_means = self._rerun(keep_sessions=False)._session_means
        assert self._session_means is not None
        return self._session_means

    def to_parquet(self, path: str) -> None:
        """Write the path table to ``path`` with the run's provenance (seed, versions,
        strategy, parameters, hash) as JSON under the key ``forecast`` of the file's
        key-value metadata. The file is written to a temporary name and moved into place."""
        from forecast.results.io import write_table

        write_table(self.paths, self.metadata, path)

    def __str__(self) -> str:
        seed = f"{self.seed} (drawn)" if self.seed_drawn else str(self.seed)
        took = f", {self.elapsed_s:.1f} s" if self.elapsed_s is not None else ""
        return (
            f"Forecast of {self.strategy.name!r}: {plural(self.n_paths, 'path')}, seed {seed}, "
            f"{self.method} kernel{took}"
        )


def read_parquet(
    path: str | Path, rebuild: Callable[[Forecast, bool], Forecast] | None = None
) -> Forecast:
    """Read a file written by `Forecast.to_parquet` back into a Forecast; ``rebuild`` reruns
    it when its session tables are asked for (`forecast.read_parquet` hands in the
    engine's)."""
    import polars as pl
    import pyarrow.parquet as pq

    from forecast.model.strategy_file import strategy_from_dict
    from forecast.results.io import FORMAT, read_metadata

    if not Path(path).exists():
        raise FileNotFoundError(f"forecast file {str(path)!r} does not exist")
    meta = read_metadata(path)
    if meta.get("format") != FORMAT:
        raise ValueError(
            f"{path}: forecast file format {meta.get('format')!r}; this version "
            f"reads format {FORMAT}"
        )
    frame = pl.from_arrow(pq.read_table(path).replace_schema_metadata(None))
    assert isinstance(frame, pl.DataFrame)
    return Forecast(
        strategy=strategy_from_dict(meta["strategy"], f"{path} metadata"),
        seed=int(meta["seed"]),
        n_paths=int(meta["paths"]),
        method=str(meta["method"]),
        paths=frame,
        seed_drawn=bool(meta.get("seed_drawn", False)),
        elapsed_s=None,
        metadata=meta,
        rebuild=rebuild,
    )
