"""Why the best plan wins: its neighbours (the reverse order, the next discount and
assortment, each booking dropped) run on the same fresh stream as the best (common random
numbers), and the paired differences that matter put into words, e.g. "star first: in the
reverse order star's session sells 2.1 % less ...". Differences within two standard errors
are called Monte Carlo noise, not a reason."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from forecast.analysis.evaluate import Evaluation, Evaluator
from forecast.analysis.objective import Objective
from forecast.analysis.plan_space import Plan, PlanSpace
from forecast.model.enums import Tier

#: Paired standard errors a difference must exceed to be called a reason.
Z_REASON = 2.0

_TIER_RANK = {Tier.MEGA: 3, Tier.MID: 2, Tier.MICRO: 1, Tier.AMATEUR: 0}


def _noun(obj: Objective) -> str:
    pct = f"{obj.level * 100:g}"
    return {
        "mean_profit": "mean profit",
        "mean_net_sales": "mean net sales",
        "cvar": f"CVaR{pct}",
        "mean_cvar": f"mean profit - {obj.weight:g} x CVaR{pct}",
    }.get(obj.kind, obj.label)


def _worse(obj: Objective, d: float, se: float) -> str:
    """``d`` = best's score - the alternative's, as words: "mean profit CNY 4,300 lower (±
    1,200)" (for CVaR, higher is worse)."""
    noun = _noun(obj)
    lower = (d > 0) == obj.maximize
    money = "" if obj.kind == "function" else "CNY "
    return f"{noun} {money}{abs(d):,.0f} {'lower' if lower else 'higher'} (± {1.96 * se:,.0f})"


def _neighbours(grid: Sequence[Any] | None, value: Any) -> list[Any]:
    if grid is None or value is None or value not in grid:
        return []
    i = list(grid).index(value)
    return [grid[j] for j in (i - 1, i + 1) if 0 <= j < len(grid)]


def _variants(space: PlanSpace, best: Plan) -> list[tuple[str, Any, Plan]]:
    """(kind, detail, plan) of each neighbour of ``best`` inside the space's ranges."""
    out: list[tuple[str, Any, Plan]] = []
    k = len(best.lineup)
    if k > 1 and space.order == "any":
        out.append(
            (
                "order",
                None,
                Plan(
                    best.lineup[::-1], best.discounts[::-1], best.assortments[::-1], best.gap_days
                ),
            )
        )
    if space.discount is not None and not space.discount_per_session:
        grid = space.discount.grid
        d0 = best.discounts[0]
        low, high = space.discount.low, space.discount.high
        if grid is None and d0 is not None and low is not None and high is not None:
            # a continuous range: 5 points either side, within the range
            grid = tuple(sorted({d0} | {x for x in (d0 - 0.05, d0 + 0.05) if low <= x <= high}))
        for d in _neighbours(grid, best.discounts[0]):
            out.append(
                ("discount", d, Plan(best.lineup, (d,) * k, best.assortments, best.gap_days))
            )
    if space.assortment is not None and not space.assortment_per_session:
        for a in _neighbours(space.assortment.grid, best.assortments[0]):
            out.append(
                ("assortment", a, Plan(best.lineup, best.discounts, (a,) * k, best.gap_days))
            )
    if k - 1 >= space.min_booked:
        for j, who in enumerate(best.lineup):
            drop = Plan(
                best.lineup[:j] + best.lineup[j + 1 :],
                best.discounts[:j] + best.discounts[j + 1 :],
                best.assortments[:j] + best.assortments[j + 1 :],
                best.gap_days,
            )
            out.append(("drop", who, drop))
    return out


def neighbours(
    space: PlanSpace, evaluator: Evaluator, best: Plan, paths: int, seed: int
) -> list[tuple[str, Any, Plan, Evaluation]]:
    """(kind, detail, plan, evaluation) of each neighbour of ``best`` (`_variants`),
    evaluated on ``paths`` paths of ``seed`` with session net sales."""
    variants = _variants(space, best)
    if not variants:
        return []
    evs = evaluator.run([p for _, _, p in variants], paths, seed, session_net=True)
    return [(k, d, p, ev) for (k, d, p), ev in zip(variants, evs, strict=True)]


def _pct(d: float | None) -> str:
    return "each product's own discount" if d is None else f"{d * 100:g} % off"


def explain(
    space: PlanSpace,
    obj: Objective,
    evaluator: Evaluator,
    best: Plan,
    best_ev: Evaluation,
    runners: Sequence[tuple[Plan, Evaluation]],
    paths: int,
    seed: int,
    evaluated: Sequence[tuple[str, Any, Plan, Evaluation]] | None = None,
) -> list[str]:
    """Sentences saying why ``best`` (evaluated as ``best_ev`` on ``paths`` paths of ``seed``,
    with session net sales) beats its neighbours and ``runners`` (plans and their evaluations
    on the same paths). ``evaluated``: `neighbours` of ``best`` on those paths, if known."""
    if evaluated is None:
        evaluated = neighbours(space, evaluator, best, paths, seed)
    out: list[str] = []
    by_kind: dict[str, list[tuple[Any, Plan, Evaluation]]] = {}
    for kind, detail, plan, ev in evaluated:
        by_kind.setdefault(kind, []).append((detail, plan, ev))

    for _, plan, ev in by_kind.get("order", []):
        d, se = best_ev.diff(ev)
        lead = best.lineup[0]
        rev = ", ".join(plan.lineup)
        if abs(d) <= Z_REASON * se:
            out.append(
                f"Order barely matters here: the reverse order ({rev}) gives "
                f"{_worse(obj, d, se)}, within Monte Carlo error."
            )
            continue
        if d < 0:
            out.append(f"The reverse order ({rev}) would do better: {_worse(obj, d, se)}.")
            continue
        top = max(best.lineup, key=lambda n: _TIER_RANK[space.influencer(n).tier])
        lost = _session_loss(best, best_ev, plan, ev, top)
        reason = ""
        before = list(plan.lineup[: plan.lineup.index(top)])
        if lost is not None and lost > 0 and before and best.lineup.index(top) < len(before):
            tier = space.influencer(top).tier
            smaller = [n for n in before if _TIER_RANK[space.influencer(n).tier] < _TIER_RANK[tier]]
            why = (
                f"viewers who saw {', '.join(smaller)} push the product first trust {top}'s "
                "endorsement less"
                if tier is Tier.MEGA and smaller and space.market.trust_penalty > 0
                else f"viewers who already bought from {', '.join(before)} rarely buy again"
            )
            reason = (
                f": in the reverse order {top} ({tier.value}) sells {lost * 100:.1f} % less, "
                f"because {why}"
            )
        out.append(f"{lead} first{reason}. The reverse order ({rev}) gives {_worse(obj, d, se)}.")

    for kind, what in (("discount", _pct), ("assortment", lambda a: f"{a} products a stream")):
        rows = by_kind.get(kind, [])
        if not rows:
            continue
        current = what(best.discounts[0] if kind == "discount" else best.assortments[0])
        parts = []
        for detail, _, ev in rows:
            d, se = best_ev.diff(ev)
            sales = ev.mean_net_sales - best_ev.mean_net_sales
            extra = (
                f", net sales CNY {abs(sales):,.0f} {'more' if sales > 0 else 'less'}"
                if kind == "discount"
                else ""
            )
            noise = " (within Monte Carlo error)" if abs(d) <= Z_REASON * se else ""
            parts.append(f"{what(detail)} gives {_worse(obj, d, se)}{noise}{extra}")
        out.append(f"{current[0].upper() + current[1:]}: " + "; ".join(parts) + ".")

    drops = by_kind.get("drop", [])
    if drops:
        scored = [(best_ev.diff(ev), who) for who, _, ev in drops]
        (d, se), who = min(scored, key=lambda x: x[0][0])
        fee = space.fees((who,))
        if d > Z_REASON * se:
            out.append(
                f"Every booking pays: even the weakest, {who} (fees CNY {fee:,.0f}), adds to the "
                f"plan; without it {_worse(obj, d, se)}."
            )
        else:
            out.append(f"{who} (fees CNY {fee:,.0f}) adds little: without it {_worse(obj, d, se)}.")
    out += _budget_note(space, best)
    for plan, ev in runners[:1]:
        d, se = best_ev.diff(ev)
        out.append(
            f"The runner-up ({plan.describe()}) gives {_worse(obj, d, se)}; P(best beats "
            f"it) = {best_ev.p_beats(ev):.2f}."
        )
    return out


def _session_loss(
    best: Plan, best_ev: Evaluation, other: Plan, other_ev: Evaluation, who: str
) -> float | None:
    """The share of ``who``'s session net sales lost in ``other`` against ``best``."""
    if best_ev.session_net is None or other_ev.session_net is None:
        return None
    mine = float(best_ev.session_net[:, best.lineup.index(who)].mean())
    theirs = float(other_ev.session_net[:, other.lineup.index(who)].mean())
    if not mine > 0 or not math.isfinite(theirs):
        return None
    return 1.0 - theirs / mine


def _budget_note(space: PlanSpace, best: Plan) -> list[str]:
    if space.budget is None:
        return []
    spent = space.fees(best.lineup)
    left = space.budget - spent
    if len(best.lineup) >= space.most_booked:
        return []
    unbooked = [n for n in space.names if n not in best.lineup]
    if not unbooked:
        return []
    cheapest = min(unbooked, key=lambda n: space.fees((n,)))
    fee = space.fees((cheapest,))
    if fee > left:
        return [
            f"The budget binds: the fees are CNY {spent:,.0f} of {space.budget:,.0f}, and no "
            f"other candidate fits in the CNY {left:,.0f} left (the cheapest, {cheapest}, "
            f"costs {fee:,.0f})."
        ]
    return [
        f"The budget does not bind: the fees are CNY {spent:,.0f} of {space.budget:,.0f}; no "
        "plan that spent more of it did better."
    ]


__all__ = ["explain"]
