"""Where the plans to evaluate come from: every plan of a small space (`exhaustive`), or
Optuna's TPE sampler over a large or continuous one (`OptunaSearch`).

Why Optuna (over Nevergrad): a plan space mixes categories (who, in which slot), integers
(how many booked, products a stream) and continuous ranges (discounts), and Optuna's TPE
handles all three in one model, with categories as categories (Nevergrad's strongest
optimizers work on a continuous relaxation). Optuna's ask-and-tell interface lets us
evaluate a batch of trials together on any backend, and its sampler takes constraints
(fees over budget, P(loss) over its cap) as such instead of as a penalty. It is widely
used and maintained, pure Python, and needs no database here (the study lives in memory).

Encoding: the number booked ``booked``; for each slot j up to the most that may be booked
the influencer ``slot{j}`` (the first ``booked`` are used; a repeated name is replaced by
the next unbooked one of the pool, in pool order, so every suggestion is a valid lineup);
discounts, assortments and the gap between sessions per plan or per slot
(``discount{j}``, ``assortment{j}``), as categories when listed and as numbers (on their
step, if any) when a range. The parameters are the same for every trial: a fixed-dimension
space, which TPE models jointly (``multivariate=True``) and fast.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from forecast.analysis.plan_space import Choice, Plan, PlanSpace

if TYPE_CHECKING:
    import optuna

#: Trials asked of the sampler at once and evaluated together (a fixed number, so that the
#: sampler sees the same history, and suggests the same plans, on every backend).
BATCH = 8

#: Startup trials of TPE (random, before it models the history).
STARTUP = 24


def exhaustive(space: PlanSpace) -> list[Plan]:
    """Every plan of a discrete space that the budget affords."""
    return list(space.plans())


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Optuna without its INFO log lines and experimental-feature warnings."""
    import optuna

    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            yield
    finally:
        optuna.logging.set_verbosity(level)


def _suggest(trial: optuna.Trial, name: str, choice: Choice) -> Any:
    grid = choice.grid
    if choice.values is not None:
        assert grid is not None
        return trial.suggest_categorical(name, list(grid))
    assert choice.low is not None and choice.high is not None
    if choice.integer:
        step = int(choice.step or 1)
        return trial.suggest_int(name, int(choice.low), int(choice.high), step=step)
    return trial.suggest_float(name, choice.low, choice.high, step=choice.step)


def plan_of_trial(trial: optuna.Trial, space: PlanSpace) -> Plan:
    """The plan a trial suggests (see the module docstring for the encoding). Every trial
    suggests the same parameters (all slots, whatever the number booked), so that the space
    has a fixed dimension and TPE models it jointly without decomposing it."""
    lo, hi = space.min_booked, space.most_booked
    k = trial.suggest_int("booked", lo, hi) if hi > lo else lo
    names = list(space.names)
    picks = [trial.suggest_categorical(f"slot{j}", names) for j in range(hi)]
    lineup: list[str] = []
    for pick in picks[:k]:
        i = names.index(pick)
        while names[i] in lineup:  # booked already: the next one of the pool
            i = (i + 1) % len(names)
        lineup.append(names[i])
    if space.order == "pool":
        lineup.sort(key=names.index)

    def per_slot(choice: Choice | None, key: str, each: bool) -> tuple[Any, ...]:
        if choice is None:
            return (None,) * k
        if each:
            return tuple(_suggest(trial, f"{key}{j}", choice) for j in range(hi))[:k]
        return (_suggest(trial, key, choice),) * k

    discounts = per_slot(space.discount, "discount", space.discount_per_session)
    assortments = per_slot(space.assortment, "assortment", space.assortment_per_session)
    gap = _suggest(trial, "gap_days", space.gap_days)
    if k == 1:  # one session: the gap means nothing, so all such plans are one
        gap = (space.gap_days.grid or (space.gap_days.low,))[0]
    return Plan(
        tuple(lineup),
        tuple(None if d is None else float(d) for d in discounts),
        tuple(None if a is None else int(a) for a in assortments),
        float(gap),
    )


class OptunaSearch:
    """Plans suggested by TPE, a batch at a time: `ask` a batch, evaluate, `tell` each score
    (higher is better) and constraint values (<= 0 when met)."""

    def __init__(self, space: PlanSpace, seed: int) -> None:
        import optuna

        self.space = space
        with _quiet():
            sampler = optuna.samplers.TPESampler(
                seed=seed % 2**32,
                multivariate=True,
                n_startup_trials=STARTUP,
            )
            self.study = optuna.create_study(direction="maximize", sampler=sampler)
        self.asked = 0

    def ask(self, n: int = BATCH) -> list[tuple[Any, Plan]]:
        """``n`` trials and their plans."""
        out = []
        with _quiet():
            for _ in range(n):
                trial = self.study.ask()
                out.append((trial, plan_of_trial(trial, self.space)))
        self.asked += n
        return out

    def tell(self, trial: Any, score: float, constraints: dict[str, float]) -> None:
        """The score of a trial's plan and its constraints (met when <= 0)."""
        with _quiet():
            for key, value in constraints.items():
                trial.set_constraint(key, value)
            self.study.tell(trial, score)


__all__ = ["BATCH", "OptunaSearch", "exhaustive", "plan_of_trial"]
