"""`optimize`: the best plan of a `PlanSpace` under an `Objective`, and how sure we are.

Method (sample average approximation on common random numbers):

1. **Screen.** Every candidate runs the same first paths of one seed, so two candidates'
   difference carries what the plans change, not noise (each influencer's host draw and each
   session's effects are shared whenever two plans book the same influencer). A small space
   is listed whole (`search="exhaustive"`, the default up to `EXHAUSTIVE_MAX` plans); a
   larger or continuous one is searched by Optuna's TPE sampler (`forecast.analysis.search`)
   on the screening score.
2. **Race (successive halving).** The candidates go through rungs of doubling paths (the
   first `paths` of the same seed each time, so a rung extends the sample of the one before)
   up to ``paths``. After each rung the best third are kept, at least `KEEP_MIN`, and also
   every candidate whose paired difference from the leader is within `Z_KEEP` standard errors
   (at most twice the third): candidates that are close get more paths.
3. **Fresh streams.** The `FINALISTS` best at the last rung run on a fresh stream with
   ``final_paths`` paths, which ranks them and chooses the best; then the best and the
   runners-up run on a second fresh stream, independent of every choice made, which gives
   the objective's interval and P(best beats each runner-up): the normal probability that
   the paired difference of the objectives is positive.
4. **Why.** The best plan is compared on that last stream with its neighbours (the reverse
   order, the next discount and assortment, each booking dropped), and the comparisons that
   matter are put into words (`forecast.analysis.explain`).

Constraints: the budget (fixed fees) and the number of sessions decide which plans exist;
P(loss) <= ``max_p_loss`` is checked on each rung's paths (a candidate stays in the race while
its estimate is within `Z_KEEP` standard errors of the cap) and on the fresh streams.

Determinism: the same space, seed and settings give the same result on every backend and
thread count. A time budget (``budget_s``) stops the search when it runs out, which depends
on the machine; `Optimization.stopped_by` says what stopped it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

from forecast.analysis.evaluate import Evaluation, Evaluator
from forecast.analysis.objective import Objective
from forecast.analysis.plan_space import MAX_LISTED, Plan, PlanSpace, load_space
from forecast.analysis.search import BATCH, OptunaSearch, exhaustive
from forecast.engine.backends import check_backend
from forecast.engine.run import check_paths, check_seed, check_threads
from forecast.model import validation as v
from forecast.model.entities import Strategy

if TYPE_CHECKING:
    import numpy as np
    import polars as pl

#: ``search="auto"`` lists every plan of a discrete space up to this many, else searches.
EXHAUSTIVE_MAX = 300
#: Plans Optuna evaluates when ``trials`` is not given (or the space's size, if smaller).
DEFAULT_TRIALS = 300
#: Successive halving: a rung keeps the best 1 / ETA of the candidates ...
ETA = 3
#: ... but at least this many ...
KEEP_MIN = 6
#: ... and every candidate within this many paired standard errors of the leader.
Z_KEEP = 2.5
#: Fewest paths of the first rung, and most rungs.
MIN_RUNG = 500
RUNGS = 4
#: Candidates re-run on the fresh streams.
FINALISTS = 5
#: Screening batches a sampler may return nothing new before the search stops (it has
#: converged on plans it has seen).
STALE_BATCHES = 6
#: Share of ``budget_s`` the screening may use; the race, fresh runs and explanation get the
#: rest.
SEARCH_SHARE = 0.6
#: Share of ``budget_s`` after which the race stops promoting (the fresh streams and the
#: explanation get the rest).
RACE_SHARE = 0.85

SEARCHES = ("auto", "exhaustive", "optuna")


class OptimizationInterrupted(KeyboardInterrupt):
    """Ctrl-C during `optimize`: ``result`` holds the best plan found so far."""

    def __init__(self, result: Optimization) -> None:
        super().__init__(f"interrupted after {v.plural(result.evaluated, 'candidate')}")
        self.result = result


@dataclass
class Candidate:
    """A plan the search evaluated: its latest `Evaluation` on the search seed (``ev``), the
    stage it reached, and on the fresh streams ``ranked`` (ranking) and ``confirmed``."""

    id: int
    plan: Plan
    fees: float
    ev: Evaluation
    stage: str = "screen"
    ranked: Evaluation | None = None
    confirmed: Evaluation | None = None


@dataclass
class Optimization:
    """What `optimize` found. ``best``: the best plan, ``strategy`` its campaign (what
    ``best.toml`` holds); ``finalists``: the best and the runners-up on the fresh streams
    (objective, its interval, P(best beats it), money figures); ``candidates``: every
    evaluated plan; ``why``: sentences saying why the best plan wins."""

    space: PlanSpace
    objective: Objective
    seed: int
    seed_drawn: bool
    paths: int
    final_paths: int
    search: str
    size: int | None
    best: Plan
    strategy: Strategy
    finalists: pl.DataFrame
    candidates: pl.DataFrame
    why: list[str]
    evaluated: int
    over_budget: int
    stopped_by: str
    interrupted: bool
    elapsed_s: float
    best_profit: np.ndarray | None = None
    runner_up_profit: np.ndarray | None = None
    runner_up: Plan | None = None
    search_best: Plan | None = None
    """The best plan on the search's own paths (the sample average approximation's optimum
    at ``paths``), before the fresh streams."""
    meta: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        """The result in a few lines of text."""
        import polars as pl

        obj = self.objective
        lines = [
            f"Best plan of {self.space.name!r} ({obj.describe()}):",
            f"  {self.best.describe()}",
            f"  fees CNY {self.space.fees(self.best.lineup):,.0f}"
            + (
                f" of a budget of {self.space.budget:,.0f}" if self.space.budget is not None else ""
            ),
        ]
        if self.finalists.height and "ci_low" in self.finalists.columns:
            row = self.finalists.row(0, named=True)
            lines.append(
                f"  {obj.label} = {row['objective']:,.0f} (95 % interval {row['ci_low']:,.0f} .. "
                f"{row['ci_high']:,.0f}) on {self.final_paths:,} fresh paths; mean profit "
                f"{row['mean_profit']:,.0f}, CVaR95 {row['cvar95']:,.0f}, P(loss) "
                f"{row['p_loss']:.3f}"
            )
        space_size = f" of {self.size:,}" if self.size is not None else ""
        lines.append(
            f"  {self.evaluated:,}{space_size} plans evaluated ({self.search}; stopped: "
            f"{self.stopped_by}) in {self.elapsed_s:.1f} s, seed {self.seed}"
        )
        if self.why:
            lines.append("Why:")
            lines += [f"  - {w}" for w in self.why]
        runners = self.finalists.filter(pl.col("rank") > 1)
        if runners.height and "p_best_beats" in runners.columns:
            lines.append("Runners-up (P(best beats it) on the confirmation stream):")
            for row in runners.iter_rows(named=True):
                lines.append(
                    f"  {row['rank']}. {row['plan']}: {obj.label} {row['objective']:,.0f} "
                    f"± {row['mcse']:,.0f}; P(best beats it) {row['p_best_beats']:.3f}"
                )
        return "\n".join(lines)

    def to_toml(self) -> str:
        """The best plan as a strategy file (``forecast run`` and ``report`` read it)."""
        from forecast.model.strategy_file import strategy_toml

        header = [
            f"Best plan of the plan space {self.space.name!r}, found by forecast optimize",
            f"objective: {self.objective.describe()}",
            f"{self.best.describe()}",
            f"seed {self.seed}, {self.paths:,} paths a candidate, {self.final_paths:,} fresh "
            f"paths; {self.evaluated:,} plans evaluated"
            + (" (interrupted: the best so far)" if self.interrupted else ""),
        ]
        return strategy_toml(self.strategy, "\n".join(header))


def rungs_for(paths: int) -> list[int]:
    """Paths of each rung: ``paths`` halved up to `RUNGS` - 1 times, none below `MIN_RUNG`."""
    out = [paths]
    while len(out) < RUNGS and out[-1] // 2 >= MIN_RUNG:
        out.append(out[-1] // 2)
    return out[::-1]


def _resolve_space(space: PlanSpace | str | Path) -> PlanSpace:
    if isinstance(space, PlanSpace):
        return space
    if isinstance(space, str | Path):
        return load_space(space)
    raise v.fail("optimize", "space", space, "must be a PlanSpace or a plan space file path")


def _setting(space: PlanSpace, given: Any, key: str, default: Any) -> Any:
    """An argument of `optimize`: given, else the space file's ``[search]`` value, else
    ``default``."""
    return given if given is not None else space.search.get(key, default)


def optimize(
    space: PlanSpace | str | Path,
    objective: Any = None,
    paths: int | None = None,
    seed: int | None = None,
    budget_s: float | None = None,
    *,
    search: str | None = None,
    trials: int | None = None,
    final_paths: int | None = None,
    finalists: int = FINALISTS,
    cvar_weight: float | None = None,
    method: str = "cohort",
    threads: int | None = None,
    backend: Any = None,
    progress: bool = False,
    log: Callable[[str], None] | None = None,
) -> Optimization:
    """Search ``space`` (a `PlanSpace` or a plan space file) for the plan that is best by
    ``objective`` (`Objective.parse`: ``"mean_profit"`` (default), ``"mean_net_sales"``,
    ``"cvar95"``, ``"mean_cvar95"`` with ``cvar_weight``, or a function of the path table).

    ``paths``: paths per candidate at the last rung (default 4,000); ``final_paths``: paths
    of each fresh stream (default 4 x ``paths``); ``seed``: None draws one; ``budget_s``: wall
    seconds for the whole search (None: no limit; the result then depends on the seed alone);
    ``search``: "auto" (list a discrete space of up to `EXHAUSTIVE_MAX` plans, else Optuna),
    "exhaustive" or "optuna"; ``trials``: plans Optuna evaluates (default `DEFAULT_TRIALS`).
    Arguments left as None take the space file's ``[search]`` values. ``method``: the kernel,
    "cohort" (default; exact, fast) or "viewer"; ``threads`` and ``backend`` as in
    `forecast.run` (the same result on every backend). ``progress``: a bar on a terminal;
    ``log``: called with a line of text at each stage.

    Ctrl-C raises `OptimizationInterrupted`, whose ``result`` is the best plan so far. A
    constraint no plan meets is a ValueError naming it.
    """
    from forecast.engine.compile import key64
    from forecast.progress import bar

    started = time.perf_counter()
    sp = _resolve_space(space)
    obj = Objective.parse(
        _setting(sp, objective, "objective", "mean_profit"),
        cvar_weight if cvar_weight is not None else sp.search.get("cvar_weight"),
    )
    n = check_paths(_setting(sp, paths, "paths", 4_000))
    seed_value, drawn = check_seed(_setting(sp, seed, "seed", None), "optimize")
    limit = _setting(sp, budget_s, "budget_s", None)
    if limit is not None:
        limit = v.in_range("optimize", "budget_s", limit, 0, 1e7, lo_open=True)
    mode = _setting(sp, search, "method", "auto")
    if mode not in SEARCHES:
        raise v.fail("optimize", "search", mode, f"must be one of {', '.join(SEARCHES)}")
    size = sp.size()
    if mode == "auto":
        mode = "exhaustive" if size is not None and size <= EXHAUSTIVE_MAX else "optuna"
    if mode == "exhaustive" and size is None:
        raise v.fail(
            "optimize",
            "search",
            "exhaustive",
            "needs a discrete space (a list or a step for every range) of at most "
            f"{MAX_LISTED:,} lineups",
        )
    n_trials = _setting(sp, trials, "trials", None)
    target = (
        v.integer("optimize", "trials", n_trials, 1, 1_000_000)
        if n_trials is not None
        else DEFAULT_TRIALS
    )
    if size is not None:
        target = min(target, size)
    m = check_paths(final_paths if final_paths is not None else min(4 * n, 100_000_000))
    keep_final = v.integer("optimize", "finalists", finalists, 1, 50)
    if method not in ("cohort", "viewer"):
        raise v.fail(
            "optimize",
            "method",
            method,
            "must be cohort or viewer (one kernel for all, so that paths pair)",
        )
    threads = check_threads(threads)
    cluster = check_backend(backend, threads)
    say = log or (lambda _: None)
    rungs = rungs_for(n)
    fresh_seed = key64(f"{seed_value}:fresh")
    confirm_seed = key64(f"{seed_value}:confirm")

    cands: dict[str, Candidate] = {}
    skipped: set[str] = set()
    state = {"stopped_by": "done"}
    expected = (size if mode == "exhaustive" else target) or target
    total_evals = expected + _race_estimate(expected) + 2 * keep_final + 8
    with bar(total_evals, "optimize", progress, unit="run") as tick:
        evaluator = Evaluator(sp, obj, cluster, method, on_eval=tick)

        def out_of_time(share: float) -> bool:
            return limit is not None and time.perf_counter() - started > share * limit

        def add(plans: list[Plan]) -> None:
            evs = evaluator.run(plans, rungs[0], seed_value)
            for plan, ev in zip(plans, evs, strict=True):
                cands[plan.key] = Candidate(len(cands), plan, sp.fees(plan.lineup), ev)

        try:
            what = (
                f"all {size:,} plans" if mode == "exhaustive" else f"{target:,} plans with Optuna"
            )
            say(f"searching {what} of {sp.name!r} on {rungs[0]:,} paths each")
            if mode == "exhaustive":
                plans = exhaustive(sp)
                for lo in range(0, len(plans), 64):
                    if out_of_time(SEARCH_SHARE):
                        state["stopped_by"] = "budget_s"
                        break
                    add(plans[lo : lo + 64])
            else:
                _optuna_screen(
                    sp, seed_value, target, size, cands, skipped, add, out_of_time, state
                )
            if not cands:  # every plan fits the budget that PlanSpace checked: time, or luck
                reason = (
                    f"ran out before a plan was evaluated (budget_s = {limit:g})"
                    if state["stopped_by"] == "budget_s"
                    else f"the sampler suggested only plans over the budget ({len(skipped)})"
                )
                raise v.fail("optimize", "search", mode, f"found nothing to compare: {reason}")
            survivors = _race(
                list(cands.values()), rungs, evaluator, seed_value, sp, out_of_time, say, state
            )
            feasible = [c for c in survivors if _meets(sp, c.ev)]
            if not feasible:
                best_p = min(cands.values(), key=lambda c: c.ev.p_loss)
                raise v.fail(
                    "constraints",
                    "max_p_loss",
                    sp.max_p_loss,
                    f"no plan evaluated meets it; the lowest P(loss) found was "
                    f"{best_p.ev.p_loss:.3f} ({best_p.plan.describe()})",
                )
            final = sorted(feasible, key=lambda c: -c.ev.score)[:keep_final]
            say(f"re-running the {len(final)} best on fresh streams of {m:,} paths")
            ranked = evaluator.run([c.plan for c in final], m, fresh_seed)
            for c, ev in zip(final, ranked, strict=True):
                c.ranked, c.stage = ev, "final"
            order = sorted(final, key=lambda c: (not _meets(sp, c.ranked), -_score(c.ranked)))
            if not _meets(sp, order[0].ranked):
                low = min(order, key=lambda c: _p_loss(c.ranked))
                raise v.fail(
                    "constraints",
                    "max_p_loss",
                    sp.max_p_loss,
                    f"no plan meets it on fresh paths; the lowest P(loss) was "
                    f"{_p_loss(low.ranked):.3f} ({low.plan.describe()})",
                )
            confirmed = evaluator.run(
                [c.plan for c in order], m, confirm_seed, keep_profit=True, session_net=True
            )
            for c, ev in zip(order, confirmed, strict=True):
                c.confirmed = ev
            # the best is the ranking stream's; the runners-up are shown by the confirmation's
            order = order[:1] + sorted(order[1:], key=lambda c: -_score(c.confirmed))
            order, confirm_seed, found = _no_better_neighbour(
                sp, evaluator, order, cands, m, seed_value, fresh_seed, confirm_seed, rungs, say
            )
            why = _why(sp, obj, evaluator, order, m, confirm_seed, say, found)
            checked = order[0].confirmed
            assert checked is not None
            if sp.max_p_loss is not None and checked.p_loss > sp.max_p_loss:
                close = checked.p_loss - 2.0 * checked.p_loss_se <= sp.max_p_loss
                why.append(
                    f"P(loss) on the confirmation stream is {checked.p_loss:.4f} ± "
                    f"{checked.p_loss_se:.4f}, above the cap of {sp.max_p_loss:g} (it met it "
                    "on the ranking stream): "
                    + (
                        "the plan is at the cap within Monte Carlo error."
                        if close
                        else "it may not meet the cap; rerun with more --final-paths."
                    )
                )
        except KeyboardInterrupt:
            if not cands:
                raise
            state["stopped_by"] = "interrupted"
            result = _partial(sp, obj, seed_value, drawn, n, m, mode, size, cands, skipped, started)
            result.meta = _meta(result, rungs, fresh_seed, confirm_seed, evaluator)
            raise OptimizationInterrupted(result) from None
    best = order[0]
    result = Optimization(
        space=sp,
        objective=obj,
        seed=seed_value,
        seed_drawn=drawn,
        paths=n,
        final_paths=m,
        search=mode,
        size=size,
        best=best.plan,
        strategy=sp.strategy(best.plan, name=f"{sp.name}_best"),
        finalists=_finalists_table(sp, obj, order),
        candidates=candidates_table(sp, obj, cands),
        why=why,
        evaluated=len(cands),
        over_budget=len(skipped),
        stopped_by=state["stopped_by"],
        interrupted=False,
        elapsed_s=time.perf_counter() - started,
        best_profit=best.confirmed.profit if best.confirmed else None,
        runner_up_profit=order[1].confirmed.profit
        if len(order) > 1 and order[1].confirmed
        else None,
        runner_up=order[1].plan if len(order) > 1 else None,
        search_best=final[0].plan,
    )
    result.meta = _meta(result, rungs, fresh_seed, confirm_seed, evaluator)
    return result


def _score(ev: Evaluation | None) -> float:
    return -math.inf if ev is None else ev.score


def _p_loss(ev: Evaluation | None) -> float:
    return math.inf if ev is None else ev.p_loss


def _meets(space: PlanSpace, ev: Evaluation | None, z: float = 0.0) -> bool:
    """Whether ``ev`` meets the P(loss) cap (within ``z`` standard errors)."""
    if ev is None:
        return False
    return space.max_p_loss is None or ev.p_loss - z * ev.p_loss_se <= space.max_p_loss


def _race_estimate(n: int) -> int:
    total, k = 0, n
    for _ in range(RUNGS - 1):
        k = max(min(k, KEEP_MIN), math.ceil(k / ETA))
        total += 2 * k
    return total


def _optuna_screen(
    sp: PlanSpace,
    seed: int,
    target: int,
    size: int | None,
    cands: dict[str, Candidate],
    skipped: set[str],
    add: Callable[[list[Plan]], None],
    out_of_time: Callable[[float], bool],
    state: dict[str, str],
) -> None:
    """Screen the plans TPE suggests, a batch at a time, until ``target`` plans are
    evaluated (every plan, when ``target`` is the space's size), the sampler repeats itself
    or time runs out. A plan over the budget is not run; its trial is told the worst score
    so far and the budget constraint it breaks."""
    from forecast.engine.compile import key64

    opt = OptunaSearch(sp, key64(f"{seed}:optuna"))
    stale = 0
    while len(cands) < target:
        if out_of_time(SEARCH_SHARE):
            state["stopped_by"] = "budget_s"
            return
        batch = opt.ask(BATCH)
        new: dict[str, Plan] = {}
        for _, plan in batch:
            if plan.key in cands or plan.key in skipped or plan.key in new:
                continue
            if not sp.affordable(plan.lineup):
                skipped.add(plan.key)
                continue
            new[plan.key] = plan
        if new:
            add(list(new.values())[: target - len(cands)])
            stale = 0
        else:
            stale += 1
        worst = min((c.ev.score for c in cands.values()), default=0.0)
        for trial, plan in batch:
            c = cands.get(plan.key)
            cons = {}
            if sp.budget is not None:
                cons["budget"] = sp.fees(plan.lineup) - sp.budget
            if sp.max_p_loss is not None:
                cons["max_p_loss"] = 0.0 if c is None else c.ev.p_loss - sp.max_p_loss
            opt.tell(trial, worst if c is None else c.ev.score, cons)
        if stale >= STALE_BATCHES:
            state["stopped_by"] = "converged"
            return
    state["stopped_by"] = "space listed" if size is not None and len(cands) >= size else "trials"


def _race(
    pool: list[Candidate],
    rungs: list[int],
    evaluator: Evaluator,
    seed: int,
    sp: PlanSpace,
    out_of_time: Callable[[float], bool],
    say: Callable[[str], None],
    state: dict[str, str],
) -> list[Candidate]:
    """Successive halving over ``rungs``: the candidates left at the last rung reached."""
    current = pool
    for n in rungs[1:]:
        if out_of_time(RACE_SHARE):
            state["stopped_by"] = "budget_s"
            break
        keep = _select(current, sp)
        say(f"racing {len(keep)} of {len(current)} candidates on {n:,} paths")
        evs = evaluator.run([c.plan for c in keep], n, seed)
        for c, ev in zip(keep, evs, strict=True):
            c.ev, c.stage = ev, "race"
        current = keep
    evaluator.forget([c.plan for c in current])
    return sorted(current, key=lambda c: -c.ev.score)


def _select(current: list[Candidate], sp: PlanSpace) -> list[Candidate]:
    """The candidates that go on to the next rung (see the module docstring)."""
    alive = [c for c in current if _meets(sp, c.ev, Z_KEEP)] or current
    alive.sort(key=lambda c: -c.ev.score)
    quota = max(KEEP_MIN, math.ceil(len(alive) / ETA))
    keep = alive[:quota]
    leader = alive[0].ev
    for c in alive[quota : 2 * quota]:
        diff, se = leader.diff(c.ev)
        if diff <= Z_KEEP * se:
            keep.append(c)
    return keep


#: A neighbour that beats the chosen plan by more than this many paired standard errors on
#: the confirmation stream takes its place (and is confirmed on a fresh stream).
PROMOTE_Z = 2.0
#: Most times a neighbour may take the chosen plan's place.
MAX_PROMOTIONS = 4


def _no_better_neighbour(
    sp: PlanSpace,
    evaluator: Evaluator,
    order: list[Candidate],
    cands: dict[str, Candidate],
    paths: int,
    seed: int,
    fresh_seed: int,
    confirm_seed: int,
    rungs: list[int],
    say: Callable[[str], None],
) -> tuple[list[Candidate], int, list[tuple[str, Any, Plan, Evaluation]]]:
    """The finalists with a chosen plan that no evaluated neighbour beats by more than
    `PROMOTE_Z` paired standard errors on the confirmation stream: a neighbour that does
    becomes the chosen plan, and the finalists are confirmed again on a fresh stream (the
    stream that picked it would flatter it), up to `MAX_PROMOTIONS` times. Returns the
    finalists, the confirmation seed and the chosen plan's neighbours on it."""
    from forecast.analysis.explain import neighbours
    from forecast.engine.compile import key64

    for attempt in range(1, MAX_PROMOTIONS + 2):
        best = order[0]
        assert best.confirmed is not None
        found = neighbours(sp, evaluator, best.plan, paths, confirm_seed)
        beaten = []
        for _, _, plan, ev in found:
            d, se = best.confirmed.diff(ev)
            if _meets(sp, ev) and d < -PROMOTE_Z * se:
                beaten.append((d, plan))
        if not beaten or attempt > MAX_PROMOTIONS:
            return order, confirm_seed, found
        _, plan = min(beaten, key=lambda t: t[0])
        say(
            f"a neighbour beats the chosen plan on the confirmation stream ({plan.describe()}); "
            "confirming it on a fresh stream"
        )
        c = cands.get(plan.key)
        if c is None:
            screen = evaluator.run([plan], rungs[-1], seed)[0]
            c = cands[plan.key] = Candidate(len(cands), plan, sp.fees(plan.lineup), screen)
        c.stage = "final"
        c.ranked = evaluator.run([plan], paths, fresh_seed)[0]
        order = [c, *(x for x in order if x.plan.key != plan.key)]
        confirm_seed = key64(f"{seed}:confirm:{attempt}")
        confirmed = evaluator.run(
            [x.plan for x in order], paths, confirm_seed, keep_profit=True, session_net=True
        )
        for x, ev in zip(order, confirmed, strict=True):
            x.confirmed = ev
        order = order[:1] + sorted(order[1:], key=lambda x: -_score(x.confirmed))
    raise AssertionError("unreachable")  # pragma: no cover


def _why(
    sp: PlanSpace,
    obj: Objective,
    evaluator: Evaluator,
    order: list[Candidate],
    paths: int,
    seed: int,
    say: Callable[[str], None],
    found: list[tuple[str, Any, Plan, Evaluation]] | None = None,
) -> list[str]:
    from forecast.analysis.explain import explain

    say("explaining the best plan against its neighbours")
    best = order[0]
    assert best.confirmed is not None
    runners = [(c.plan, c.confirmed) for c in order[1:] if c.confirmed is not None]
    return explain(sp, obj, evaluator, best.plan, best.confirmed, runners, paths, seed, found)


def _interval(obj: Objective, ev: Evaluation, level: float = 0.95) -> tuple[float, float]:
    z = NormalDist().inv_cdf(0.5 + level / 2)
    lo, hi = obj.value(ev.score - z * ev.se), obj.value(ev.score + z * ev.se)
    return (min(lo, hi), max(lo, hi))


def _finalists_table(sp: PlanSpace, obj: Objective, order: list[Candidate]) -> pl.DataFrame:
    import polars as pl

    best = order[0].confirmed
    rows = []
    for rank, c in enumerate(order, start=1):
        ev = c.confirmed
        assert ev is not None and c.ranked is not None
        lo, hi = _interval(obj, ev)
        rows.append(
            {
                "rank": rank,
                "plan": c.plan.describe(),
                "key": c.plan.key,
                "objective": obj.value(ev.score),
                "mcse": ev.se,
                "ci_low": lo,
                "ci_high": hi,
                "p_best_beats": None if rank == 1 or best is None else best.p_beats(ev),
                "diff_from_best": None
                if rank == 1 or best is None
                else obj.value(ev.score) - obj.value(best.score),
                "diff_se": None if rank == 1 or best is None else best.diff(ev)[1],
                "ranking_objective": obj.value(c.ranked.score),
                "search_objective": obj.value(c.ev.score),
                "mean_profit": ev.mean_profit,
                "mean_profit_mcse": ev.mean_profit_se,
                "mean_net_sales": ev.mean_net_sales,
                "cvar95": ev.cvar95,
                "p_loss": ev.p_loss,
                "p_loss_mcse": ev.p_loss_se,
                "fees": c.fees,
                "meets_constraints": _meets(sp, ev),
                "paths": ev.paths,
            }
        )
    return pl.DataFrame(
        rows,
        schema_overrides={
            "p_best_beats": pl.Float64,
            "diff_from_best": pl.Float64,
            "diff_se": pl.Float64,
        },
    )


def candidates_table(sp: PlanSpace, obj: Objective, cands: dict[str, Candidate]) -> pl.DataFrame:
    """One row per evaluated plan: its decisions, its objective on the search seed at the
    paths it reached (``objective``, ``mcse``, ``paths``), money figures, and on the fresh
    streams for the finalists."""
    import polars as pl

    rows = []
    for c in sorted(cands.values(), key=lambda c: c.id):
        ev = c.ev
        conf = c.confirmed
        rows.append(
            {
                "candidate": c.id,
                "plan": c.plan.describe(),
                "key": c.plan.key,
                "lineup": list(c.plan.lineup),
                "sessions": len(c.plan.lineup),
                "discounts": list(c.plan.discounts),
                "assortments": list(c.plan.assortments),
                "gap_days": c.plan.gap_days,
                "fees": c.fees,
                "stage": c.stage,
                "paths": ev.paths,
                "objective": obj.value(ev.score),
                "mcse": ev.se,
                "mean_profit": ev.mean_profit,
                "mean_profit_mcse": ev.mean_profit_se,
                "mean_net_sales": ev.mean_net_sales,
                "cvar95": ev.cvar95,
                "p_loss": ev.p_loss,
                "p_loss_mcse": ev.p_loss_se,
                "meets_constraints": _meets(sp, ev),
                "fresh_objective": None if conf is None else obj.value(conf.score),
                "fresh_mcse": None if conf is None else conf.se,
                "fresh_paths": None if conf is None else conf.paths,
            }
        )
    schema: dict[str, pl.DataType | type[pl.DataType]] = {
        "discounts": pl.List(pl.Float64),
        "assortments": pl.List(pl.Int64),
        "fresh_objective": pl.Float64,
        "fresh_mcse": pl.Float64,
        "fresh_paths": pl.Int64,
    }
    return pl.DataFrame(rows, schema_overrides=schema)


def _partial(
    sp: PlanSpace,
    obj: Objective,
    seed: int,
    drawn: bool,
    n: int,
    m: int,
    mode: str,
    size: int | None,
    cands: dict[str, Candidate],
    skipped: set[str],
    started: float,
) -> Optimization:
    """The best plan so far, after Ctrl-C: the best score among the candidates that reached
    the most paths (no fresh streams, no explanation)."""
    import polars as pl

    most = max(c.ev.paths for c in cands.values())
    top = sorted(
        (c for c in cands.values() if c.ev.paths == most and _meets(sp, c.ev)),
        key=lambda c: -c.ev.score,
    ) or sorted((c for c in cands.values() if c.ev.paths == most), key=lambda c: -c.ev.score)
    best = top[0]
    rows = [
        {
            "rank": i + 1,
            "plan": c.plan.describe(),
            "key": c.plan.key,
            "objective": obj.value(c.ev.score),
            "mcse": c.ev.se,
            "mean_profit": c.ev.mean_profit,
            "cvar95": c.ev.cvar95,
            "p_loss": c.ev.p_loss,
            "fees": c.fees,
            "paths": c.ev.paths,
        }
        for i, c in enumerate(top[:FINALISTS])
    ]
    return Optimization(
        space=sp,
        objective=obj,
        seed=seed,
        seed_drawn=drawn,
        paths=n,
        final_paths=m,
        search=mode,
        size=size,
        best=best.plan,
        strategy=sp.strategy(best.plan, name=f"{sp.name}_best"),
        finalists=pl.DataFrame(rows),
        candidates=candidates_table(sp, obj, cands),
        why=[
            f"Interrupted: the best of {v.plural(len(cands), 'plan')} evaluated so far, on "
            f"{most:,} paths of the search seed; not re-run on fresh streams."
        ],
        evaluated=len(cands),
        over_budget=len(skipped),
        stopped_by="interrupted",
        interrupted=True,
        elapsed_s=time.perf_counter() - started,
    )


def _meta(
    result: Optimization, rungs: list[int], fresh: int, confirm: int, evaluator: Evaluator
) -> dict[str, Any]:
    from forecast.model.strategy_file import strategy_to_dict
    from forecast.results.provenance import versions

    return {
        "space": result.space.name,
        "objective": result.objective.label,
        "seed": result.seed,
        "seed_drawn": result.seed_drawn,
        "paths": result.paths,
        "rungs": rungs,
        "final_paths": result.final_paths,
        "fresh_seed": fresh,
        "confirm_seed": confirm,
        "search": result.search,
        "size": result.size,
        "evaluated": result.evaluated,
        "over_budget": result.over_budget,
        "kernel_runs": evaluator.runs,
        "paths_run": evaluator.paths_run,
        "stopped_by": result.stopped_by,
        "elapsed_s": result.elapsed_s,
        "best": result.best.key,
        "best_strategy": strategy_to_dict(result.strategy),
        "versions": versions(),
    }


__all__ = [
    "EXHAUSTIVE_MAX",
    "Optimization",
    "OptimizationInterrupted",
    "candidates_table",
    "optimize",
    "rungs_for",
]
