"""Make ``forecast/examples/past_sessions.csv``: sessions of 12 hosts (4 mega, 5 mid, 3
micro), June to August 2021, simulated by the model itself (the cohort kernel through
`forecast.run`) from known parameters, written beside it in ``past_sessions_truth.csv``.

Each host's true levels are its tier's preset times exp(a), a drawn from N(0, tau) with
MODEL.md's between-host sds; its sessions vary by the presets' session laws. A session is
simulated as a stream of ``products`` equal slots, every product counted (so units are units
of the whole stream), at the reference discount, with list prices that give the session's
GMV per unit (the host's level times a lognormal session spread of sd 0.45). One path per
host: its sessions are the sessions of one campaign, distinct products each, so nothing
carries from one to the next.

    python -m forecast.analysis.make_past_sessions        # about 20 minutes (the kernels'
                                                          # exact stay integrals per session)
"""

from __future__ import annotations

import math
import sys
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from forecast.analysis.observation import METRICS, PARAMETER, REFERENCE_PRICE, base_influencer
from forecast.engine.run import run
from forecast.model.entities import Product, Session, Strategy
from forecast.model.enums import Tier
from forecast.model.presets import SPREAD_CLASS
from forecast.model.spread import BETWEEN_HOSTS

HERE = Path(__file__).resolve().parents[1] / "examples"
SEED = 20210601
#: Hosts per tier and sessions per host (drawn in this range).
HOSTS = {Tier.MEGA: 4, Tier.MID: 5, Tier.MICRO: 3}
SESSIONS = (12, 32)
#: Between-host sd of the price level, and the session sd of GMV per unit (log units).
PRICE_TAU, PRICE_SIGMA = 0.7, 0.45
NAMES = {
    Tier.MEGA: ("Li Jiaqi", "Viya", "Luo Yonghao", "Crazy Xiaoyang"),
    Tier.MID: ("Dongdong", "Meimei", "Xiao Bai", "Tang Tang", "Ah Fei", "Qiqi"),
    Tier.MICRO: ("Lulu", "Da Wei", "Niuniu"),
}
DISCOUNT = 0.2


def truth(rng: np.random.Generator) -> list[tuple[str, Tier, dict[str, float]]]:
    """Each host's true log levels relative to its tier's preset."""
    hosts = []
    for tier, count in HOSTS.items():
        for name in NAMES[tier][:count]:
            levels = {}
            for metric in METRICS:
                tau = (
                    PRICE_TAU if metric == "price" else BETWEEN_HOSTS[(SPREAD_CLASS[tier], metric)]
                )
                levels[metric] = float(rng.normal(0.0, tau))
            hosts.append((name, tier, levels))
    return hosts


def host_sessions(
    name: str, tier: Tier, levels: dict[str, float], rng: np.random.Generator
) -> pl.DataFrame:
    """The simulated sessions of one host."""
    base = base_influencer(tier)
    inf = base.replace(
        name=name,
        views_per_hour=base.views_per_hour * math.exp(levels["traffic"]),
        dwell_mean_s=base.dwell_mean_s * math.exp(levels["stay"]),
        likes_per_minute=base.likes_per_minute * math.exp(levels["engagement"]),
        comments_per_minute=base.comments_per_minute * math.exp(levels["engagement"]),
        gifts_per_hour=base.gifts_per_hour * math.exp(levels["engagement"]),
        conversion=base.conversion * math.exp(levels["conversion"]),
        host_traffic_sd=0.0,
        host_conversion_sd=0.0,
        host_engagement_sd=0.0,
        host_stay_sd=0.0,
    )
    count = int(rng.integers(SESSIONS[0], SESSIONS[1] + 1))
    start = datetime(2021, 6, 1, 19) + timedelta(days=float(rng.uniform(0, 3)))
    sessions, rows = [], []
    for k in range(count):
        hours = float(np.clip(math.exp(rng.normal(math.log(4.0), 0.35)), 1.0, 9.0))
        products = int(np.clip(round(math.exp(rng.normal(math.log(base.assortment), 0.4))), 5, 90))
        price = REFERENCE_PRICE * math.exp(levels["price"] + PRICE_SIGMA * float(rng.normal()))
        stream = [
            Product(f"s{k}p{i}", list_price=price / (1 - DISCOUNT), discount=DISCOUNT)
            for i in range(products)
        ]
        day = (start - datetime(2021, 6, 1)).total_seconds() / 86_400
        sessions.append(
            Session(
                inf,
                tuple(stream),
                day=day,
                hours=hours,
                assortment=products,
                positions=tuple(range(products)),
            )
        )
        rows.append(
            {
                "influencer": name,
                "tier": tier.value,
                "start": start.replace(microsecond=0),
                "hours": round(hours, 3),
                "products": products,
            }
        )
        start += timedelta(days=float(rng.uniform(0.5, 1.5)) * 90.0 / count)
    seed = int(rng.integers(2**32))
    result = run(Strategy(tuple(sessions), name=name), paths=1, seed=seed)
    s = result.sessions.sort("session")
    frame = pl.DataFrame(rows)
    views = s.get_column("views").to_numpy()
    return frame.with_columns(
        pl.Series("views", views),
        pl.Series("units", s.get_column("units").to_numpy()),
        pl.Series("gmv", np.round(s.get_column("gmv").to_numpy(), 2)),
        pl.Series("likes", s.get_column("likes").to_numpy()),
        pl.Series(
            "avg_stay_s",
            np.round(s.get_column("watch_hours").to_numpy() * 3600 / np.maximum(views, 1), 2),
        ),
    )


def main(out: Path = HERE) -> None:
    rng = np.random.default_rng(SEED)
    hosts = truth(rng)
    parts = []
    for name, tier, levels in hosts:
        parts.append(host_sessions(name, tier, levels, rng))
        print(f"{name}: {parts[-1].height} sessions", file=sys.stderr)
    pl.concat(parts).sort("start").write_csv(out / "past_sessions.csv")
    rows = []
    for name, tier, levels in hosts:
        base = base_influencer(tier)
        for metric in METRICS:
            scale = REFERENCE_PRICE if metric == "price" else getattr(base, PARAMETER[metric])
            rows.append(
                {
                    "host": name,
                    "tier": tier.value,
                    "parameter": PARAMETER[metric],
                    "log_level": levels[metric],
                    "value": scale * math.exp(levels[metric]),
                }
            )
    pl.DataFrame(rows).write_csv(out / "past_sessions_truth.csv")


if __name__ == "__main__":
    main()
