"""The Dask backend: a LocalCluster of two worker processes gives the same bits as a local
run, for run, compare and report, whatever the task size, and when a worker is killed in
the middle of a run. Every comparison is exact equality (fixed seeds), never statistical."""

from __future__ import annotations

import os
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import forecast as fc
from forecast import examples
from forecast.engine.cluster import DaskBackend, resolve_backend, warm_up
from forecast.engine.prepare import prepare
from forecast.engine.run import forecast_of, keeps_sessions
from tests.conftest import micro_then_mega
from tests.reporting.portfolios import copy_examples, write_portfolio

distributed = pytest.importorskip("distributed")


def _cluster(workers: int = 2) -> Any:
    return distributed.LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",  # any free port: never clashes with another cluster
        env={"NUMBA_NUM_THREADS": "1"},
    )


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    with _cluster() as cluster, distributed.Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def backend(client: Any) -> DaskBackend:
    """One block (4,096 paths) a task, so even small runs are split across both workers."""
    b = DaskBackend(client, task_paths=1)
    b.warm()
    return b


def test_warm_up_loads_both_kernels_on_every_worker(backend: DaskBackend) -> None:
    assert len(backend.warm_up_s) == 2
    for took in backend.warm_up_s.values():
        assert set(took) == {"cohort", "viewer"} and all(t > 0 for t in took.values())
    assert backend.task_paths == 4096  # rounded up to whole blocks


@pytest.mark.parametrize("task_paths", [4096, 3 * 4096, 100_000])
def test_run_on_the_cluster_equals_the_local_run(client: Any, task_paths: int) -> None:
    s = fc.load(examples.path("mega_then_micro"))
    here = fc.run(s, paths=20_000, seed=31)
    there = fc.run(s, paths=20_000, seed=31, backend=DaskBackend(client, task_paths=task_paths))
    assert there.method == "cohort"
    assert there.paths.equals(here.paths)
    assert there.sessions.equals(here.sessions)
    assert there.session_summary().equals(here.session_summary())  # same bits, summed in order
    assert there.summary().equals(here.summary())


def test_per_viewer_kernel_on_the_cluster(backend: DaskBackend) -> None:
    s = micro_then_mega()
    here = fc.run(s, paths=9_000, seed=32, method="viewer")
    there = fc.run(s, paths=9_000, seed=32, method="viewer", backend=backend)
    assert there.paths.equals(here.paths) and there.sessions.equals(here.sessions)
    assert there.session_summary().equals(here.session_summary())


def test_backend_dask_takes_the_current_client(client: Any) -> None:
    s = fc.load(examples.path("micro_only"))
    with distributed.Client(client.scheduler.address) as default:
        assert distributed.default_client() is default
        there = fc.run(s, paths=5_000, seed=33, backend="dask")
    assert there.paths.equals(fc.run(s, paths=5_000, seed=33).paths)


def test_compare_on_the_cluster_equals_local(backend: DaskBackend) -> None:
    files = [examples.path(n) for n in ("micro_only", "mega_then_micro", "micro_then_mega")]
    here = fc.compare(files, paths=9_000, seed=34)
    there = fc.compare(files, paths=9_000, seed=34, backend=backend)
    for name in here.names:
        assert there.forecasts[name].paths.equals(here.forecasts[name].paths), name
    assert there.summary().equals(here.summary())
    assert there.pairwise().equals(here.pairwise())
    assert there.ranking().equals(here.ranking())


def test_report_on_the_cluster_writes_the_same_bytes(backend: DaskBackend, tmp_path: Path) -> None:
    copy_examples(tmp_path)
    portfolio = write_portfolio(
        tmp_path, campaigns=["*.toml"], seed=35, paths=6_000, risk_levels=[0.95, 0.99]
    )
    here = fc.report(portfolio, tmp_path / "here")
    there = fc.report(portfolio, tmp_path / "there", backend=backend)
    assert there.computed == 7
    for name in ("results.parquet", "summary.parquet"):
        assert (there.out / name).read_bytes() == (here.out / name).read_bytes(), name


def test_gather_keeps_a_bounded_window_of_jobs_in_flight(backend: DaskBackend) -> None:
    """With a window of 10,000 paths and jobs of 6,000, at most two jobs are started and not
    yet done at any time (so the client holds at most two jobs' results), every job still
    completes, in order of start, with the local run's bits."""
    from forecast.engine.backends import LocalBackend

    prep = prepare(fc.load(examples.path("mega_then_micro")), "cohort")
    jobs = [
        backend.submit(prep, seed, 6_000, keep_sessions=False, session_net=True)
        for seed in range(5)
    ]
    open_jobs: list[int] = []

    def done(i: int) -> None:
        open_jobs.append(sum(j.started and not j.done for j in jobs))
        here = LocalBackend().compute(prep, i, 6_000, keep_sessions=False, session_net=True)
        there = jobs[i].parts()
        assert pl.concat([p.paths for p in there]).equals(pl.concat([p.paths for p in here]))
        jobs[i].release()

    backend.gather(jobs, on_done=done, in_flight_paths=10_000)
    assert len(open_jobs) == 5
    assert max(open_jobs) <= 1  # besides the job just finished, at most one more started
    assert all(j.done for j in jobs)


def test_bad_backends_are_refused(backend: DaskBackend) -> None:
    s = fc.load(examples.path("micro_only"))
    with pytest.raises(ValueError, match=r"backend = 42 is not allowed; one of None, 'local'"):
        fc.run(s, paths=10, seed=1, backend=42)
    with pytest.raises(ValueError, match=r"threads = 1 is not allowed; must be left out"):
        fc.run(s, paths=10, seed=1, threads=1, backend=backend)
    with pytest.raises(ValueError, match=r"task_paths = 0 is not allowed"):
        DaskBackend(backend.client, task_paths=0)
    assert resolve_backend(None) is None and resolve_backend("local") is None


def test_warm_up_runs_here_too() -> None:
    took = warm_up()  # off a worker it uses this process's threads
    assert set(took) == {"cohort", "viewer"}


def test_a_killed_worker_changes_nothing() -> None:
    """SIGKILL one of two workers once three tasks are back: its running task is rescheduled
    on the other (and on its restarted self), the results already gathered stay, and the
    run is bit-identical to the local one."""
    s = fc.load(examples.path("mega_then_micro"))
    n = 40 * 4096
    here = fc.run(s, paths=n, seed=36)
    prep = prepare(s, "auto")
    with _cluster() as cluster, distributed.Client(cluster) as client:
        backend = DaskBackend(client, task_paths=4096)
        backend.warm()
        pids = client.run(os.getpid)
        job = backend.submit(prep, 36, n, keep_sessions=keeps_sessions(prep, n), session_net=False)
        back: list[int] = []
        killed: list[int] = []

        def tick(paths: int) -> None:
            back.append(paths)
            if len(back) == 3:
                victim = sorted(pids.values())[0]
                os.kill(victim, signal.SIGKILL)
                killed.append(victim)

        backend.gather([job], tick)
        after = client.run(os.getpid)
    assert killed and killed[0] not in after.values()  # that process is gone
    assert sum(back) == n and len(back) == 40
    there = forecast_of(prep, job.parts(), n, 36)
    assert there.paths.equals(here.paths)
    assert there.session_summary().equals(here.session_summary())


def test_command_line_workers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from forecast.cli import main

    out = tmp_path / "w.parquet"
    plan = str(examples.path("micro_then_mega"))
    assert (
        main(["run", plan, "--workers", "2", "--paths", "9000", "--seed", "5", "--out", str(out)])
        == 0
    )
    assert fc.read_parquet(out).paths.equals(fc.run(plan, paths=9000, seed=5).paths)
    assert main(["run", plan, "--workers", "2", "--threads", "1"]) == 2
    err = capsys.readouterr().err
    assert "--threads = 1 is not allowed with --cluster or --workers" in err
    with tempfile.TemporaryDirectory() as d:
        portfolio = write_portfolio(
            Path(d), campaigns=[plan, str(examples.path("micro_only"))], seed=5, paths=3000
        )
        assert main(["report", str(portfolio), "--out", f"{d}/a", "--workers", "2"]) == 0
        fc.report(portfolio, f"{d}/b")
        for name in ("results.parquet", "summary.parquet"):
            assert Path(d, "a", name).read_bytes() == Path(d, "b", name).read_bytes()


def test_forecast_with_fitted_hosts_on_the_cluster_equals_the_local_run(
    backend: DaskBackend,
) -> None:
    """Hosts fitted to past sessions (`fc.calibrate`) are influencers like any other: the
    cluster gives the local run's bits (the fit itself simulates nothing)."""
    import numpy as np

    from forecast.analysis import synthetic as syn

    rng = np.random.default_rng(2)
    truths = [syn.draw_truth(fc.Tier.MID, 2, rng)]
    plan = syn.session_plan(truths, {h: 6 for h in truths[0].hosts}, rng)
    cal = fc.calibrate(syn.synthetic_history(truths, plan, seed=1), seed=3, draws=200)
    serum = fc.Product("serum", list_price=199.0, unit_cost=40.0, category="beauty")
    s = fc.Strategy(
        (
            fc.Session(cal.influencer("mid-0"), (serum,)),
            fc.Session(cal.new_influencer("mid", "new"), (serum,), day=2.0),
        )
    )
    local = fc.run(s, paths=9000, seed=5)
    remote = fc.run(s, paths=9000, seed=5, backend=backend)
    assert remote.paths.equals(local.paths)


def test_kernel_predictive_of_a_calibration_on_the_cluster(backend: DaskBackend) -> None:
    """`Calibration.predict(method="kernel")` runs its sessions on the backend, with the
    local run's bits."""
    import numpy as np
    import polars as pl

    from forecast.analysis import synthetic as syn

    rng = np.random.default_rng(4)
    truths = [syn.draw_truth(fc.Tier.MICRO, 2, rng)]
    plan = syn.session_plan(truths, {h: 5 for h in truths[0].hosts}, rng)
    cal = fc.calibrate(syn.synthetic_history(truths, plan, seed=1), seed=3, draws=200)
    table = pl.DataFrame(
        {"influencer": ["micro-0"], "tier": ["micro"], "hours": [1.0], "products": [3]}
    )
    local = cal.predict(table, draws=5000, seed=2, method="kernel")
    remote = cal.predict(table, draws=5000, seed=2, method="kernel", backend=backend)
    assert remote.equals(local)


def test_optimize_on_the_cluster_equals_the_local_search(backend: DaskBackend) -> None:
    """The search screens, races and re-runs its candidates as batches of tasks; with the
    same seed it evaluates the same plans to the same bits and picks the same plan."""
    from forecast.analysis.plan_space import PlanSpace

    serum = fc.Product("serum", list_price=199.0, unit_cost=40.0, category="beauty")
    pool = [
        fc.Influencer.preset("mega", "star", slot_fee=20_000.0),
        fc.Influencer.preset("micro", "amy"),
        fc.Influencer.preset("micro", "bo", conversion=0.025),
    ]
    space = PlanSpace(
        pool=pool,
        products=[serum],
        hours={i.name: 2.0 for i in pool},
        max_booked=3,
        discount=[0.1, 0.3],
    )
    kw: dict[str, Any] = {"paths": 1000, "seed": 4, "search": "optuna", "trials": 16}
    here = fc.optimize(space, "cvar95", **kw)
    there = fc.optimize(space, "cvar95", backend=backend, **kw)
    assert there.best == here.best and there.why == here.why
    assert there.candidates.equals(here.candidates)
    assert there.finalists.equals(here.finalists)


def test_sensitivity_on_the_cluster_equals_the_local_run(backend: DaskBackend) -> None:
    """Every evaluation of the design, the tornado and the noise replicates runs as tasks;
    the indices and tables are the local run's bits."""
    inputs = {"star.conversion": (0.01, 0.03), "serum.unit_cost": (30.0, 50.0)}
    s = fc.load(examples.path("mega_then_micro"))
    kw: dict[str, Any] = {"paths": 300, "seed": 2, "trajectories": 3}
    here = fc.sensitivity(s, inputs, ["mean_profit", "cvar95"], **kw)
    there = fc.sensitivity(s, inputs, ["mean_profit", "cvar95"], backend=backend, **kw)
    assert there.indices.equals(here.indices) and there.design.equals(here.design)
    assert there.noise.equals(here.noise)
    assert here.tornado is not None and there.tornado is not None
    assert there.tornado.equals(here.tornado)
