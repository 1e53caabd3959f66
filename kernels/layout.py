"""Shared constants between the compile step (Python) and the kernels: output columns and
the purpose codes that key random streams. Changing a purpose code changes every result."""

from __future__ import annotations

# ---- integer outputs, per path and session: counts[path, session, field]
VIEWS = 0  # arrivals (a viewer who enters twice counts twice), count
EXPOSURES = 1  # (viewer arrival, product) pairs whose watch window met the product's slot
PENALIZED = 2  # exposures on which the trust penalty applied
SATURATED = 3  # exposures of viewers who had bought the product in an earlier session
ORDERS = 4  # orders placed
UNITS = 5  # units ordered
RETURNED_ORDERS = 6  # orders returned or refunded
RETURNED_UNITS = 7  # units in returned orders
LIKES = 8
COMMENTS = 9
GIFTS = 10  # number of virtual gifts
VOUCHERS_SOLD = 11  # voucher units sold
VOUCHERS_VERIFIED = 12  # voucher units verified in the store within their validity
N_COUNTS = 13
COUNT_NAMES = (
    "views",
    "exposures",
    "penalized",
    "saturated",
    "orders",
    "units",
    "returned_orders",
    "returned_units",
    "likes",
    "comments",
    "gifts",
    "vouchers_sold",
    "vouchers_verified",
)

# ---- float outputs, per path and session: money[path, session, field]
GMV = 0  # paid order value, CNY
RETURNS = 1  # value refunded for returned orders, CNY
COST = 2  # unit cost of units not returned, CNY
GIFT_VALUE = 3  # value of virtual gifts, CNY
WATCH_HOURS = 4  # arrivals x the session's expected stay per arrival, hours
TRAFFIC = 5  # the session's traffic multiplier (1 = median), dimensionless
VERIFIED_REVENUE = 6  # paid value of vouchers verified in the store, CNY
N_MONEY = 7
MONEY_NAMES = (
    "gmv",
    "returns",
    "cost",
    "gift_value",
    "watch_hours",
    "traffic",
    "verified_revenue",
)

# ---- purposes: which sub-stream of a session's key a draw comes from
P_TRAFFIC = 1
P_BINS = 2
P_VIEWER = 3
P_PURCHASE = 4
P_LIKES = 5
P_COMMENTS = 6
P_GIFTS = 7
P_GIFT_VALUE = 8
P_VERIFY_DELAY = 9
P_COHORT = 10  # every count the cohort kernel draws (sub-keyed by what it counts)
P_EFFECTS = 11  # a session's effect cores (normals 0-2) and jumps (uniforms 0-7)
# purposes of a path's influencer key (seed, path, influencer): its host effects and drift
P_HOST = 1
P_DRIFT = 2
# purposes of a path's key: its market factor (kernels.timeline)
P_PATH_MARKET = 1

# draws per viewer arrival in the P_VIEWER stream and per (arrival, product) in P_PURCHASE
VIEWER_DRAWS = 4  # 0: time in bin, 1: dwell, 2: pool, 3: identity in pool
PURCHASE_DRAWS = 3  # 0: buy?, 1: extra units, 2: returned?

#: largest session index the int16 carried state can hold
MAX_SESSIONS = 32_000

# ---- compiled model: column indices of the flat arrays built by forecast.engine.compile
# sessions, float64[S, N_SF]
SF_DAY = 0  # start day in the campaign, days
SF_HOURS = 1  # duration, hours
SF_SIGMA = 2  # sd of log traffic multiplier (already scaled by market.traffic_noise)
SF_SHARED = 3  # share of arrivals drawn from the shared market audience, in [0, 1]
SF_DWELL_SCALE = 4  # log-logistic dwell scale (its median), hours
SF_DWELL_SHAPE = 5  # log-logistic dwell shape (> 1)
SF_LIKE_RATE = 6  # likes per watch hour
SF_COMMENT_RATE = 7  # comments per watch hour
SF_GIFT_RATE = 8  # gifts per watch hour
SF_GIFT_MEAN = 9  # mean value of one gift, CNY
SF_GIFT_CV2 = 10  # squared coefficient of variation of one gift's value (gamma law)
SF_MEAN_STAY = 11  # expected stay of one arrival, capped at the session end, hours
N_SF = 12
# sessions, int64[S, N_SI]
SI_BIN_START = 0  # first row in bins
SI_BIN_END = 1  # one past the last row in bins
SI_Q_START = 2  # first row in the session-product arrays
SI_Q_END = 3
SI_OWN_POOL = 4  # pool of the influencer's own followers
SI_IS_MEGA = 5  # 1 if the influencer is mega (trust asymmetry), else 0
SI_INFLUENCER = 6  # the influencer's index in ikey (its host effects)
SI_DRIFT_PREV = 7  # the influencer's previous session (its drift carries from it), -1: none
SI_ORDINAL = 8  # which session of its influencer this is, 0-based (keys its drift draws)
SI_WEEK = 9  # calendar week on the market grid (kernels.timeline.GRID_WEEKS)
SI_CLASS = 10  # market series of the influencer: 0 mega, 1 the other tiers
N_SI = 11
# arrival-rate bins, float64[B, N_BF]; the intensity is piecewise constant on bins
BF_T0 = 0  # bin start, hours from session start
BF_WIDTH = 1  # bin width, hours
BF_RATE = 2  # expected arrivals in the bin at traffic multiplier 1
N_BF = 3
# session-products, float64[Q, N_QF], ordered by slot start within each session
QF_START = 0  # slot start, hours
QF_END = 1  # slot end, hours
QF_P = 2  # purchase probability of an exposed, fresh viewer (all static effects), [0, 1]
QF_PRICE = 3  # price paid per unit, CNY
QF_COST = 4  # unit cost, CNY
QF_RETURN = 5  # probability an order is returned, [0, 1]
QF_EXTRA = 6  # mean extra units per order (units = 1 + Poisson(extra))
QF_VERIFY = 7  # voucher: probability the buyer means to verify it, [0, 1]
QF_DELAY = 8  # voucher: mean delay from purchase to the store visit (exponential), days
QF_VALIDITY = 9  # voucher: validity window after purchase, days
N_QF = 10
# session-products, int64[Q, N_QI]
QI_PRODUCT = 0  # product index in the strategy
QI_STATE_COL = 1  # column of carried state, -1 if the product is in one session only
QI_VOUCHER = 2  # 1 if the product is a voucher, else 0 (goods)
N_QI = 3
# audience pools, int64[P, N_PI]; pool 0 is the shared market audience
PI_SIZE = 0  # identities in the pool, people
PI_ROW0 = 1  # first row of carried state, -1 if the pool is in one session only
PI_CORE = 2  # heavy watchers in the pool: identities 0 .. core-1, people
N_PI = 3
# market scalars, float64[N_MF]
MF_TRUST_PENALTY = 0
MF_TRUST_FADE_DAYS = 1
MF_SATURATION = 2
MF_CORE_ARRIVALS = 3
MF_L10 = 4  # Cholesky factor of the correlations of the traffic, conversion, engagement cores
MF_L11 = 5
MF_L20 = 6
MF_L21 = 7
MF_L22 = 8
MF_MARKET_PHI = 9  # lag-1 correlation of the weekly market factor
MF_WEEK_LO = 10  # first and last calendar week of the strategy's sessions (whole numbers)
MF_WEEK_HI = 11
MF_STAY_CLASS_CORR = 12  # correlation of the two classes' market stay series
N_MF = 13
# effects per session, float64[S, N_FX]: for metric m (FX_TRAFFIC .. FX_STAY) the columns
# m * FX_STRIDE + FX_SD .. FX_HOST_SD; the law is in forecast.model.spread
FX_TRAFFIC = 0
FX_CONVERSION = 1
FX_ENGAGEMENT = 2
FX_STAY = 3
FX_STRIDE = 9
FX_SD = 0  # sd of the normal core, log units (traffic: unused, the kernels read SF_SIGMA)
FX_FLOP_P = 1  # probability of a flop
FX_FLOP_M = 2  # mean size of a flop, log units
FX_HIT_P = 3  # probability of a hit
FX_HIT_M = 4  # mean size of a hit, log units
FX_MEDIAN = 5  # median of the session law, subtracted so the host's level is its median
FX_HOST_SD = 6  # sd of the host effect (between hosts), log units
FX_DRIFT_SD = 7  # stationary sd of the host's drift, log units (kernels.timeline)
FX_MARKET_SD = 8  # loading of the session on its class's market factor, log units
FX_STAY_LO = 36  # log value of stay node 0
FX_STAY_STEP = 37  # spacing of the stay nodes, log units
FX_STAY_NODES = 38  # number of stay nodes (a whole number as a float)
FX_DRIFT_RHO = 39  # drift correlation with the previous session (or the anchor), [0, 1]
FX_DRIFT_ANCHOR = 40  # 1: the first session's drift starts from 0 (a fitted host's last level)
N_FX = 41

# ---- cohort kernel (forecast.engine.cohort_plan)
# exposure patterns, int64[P, N_PT]: an arrival sees products lo .. hi-1 of its session
PT_LO = 0
PT_HI = 1
N_PT = 2
# sessions, int64[S, N_SC]
SC_PAT_START = 0  # first row in the pattern arrays
SC_PAT_END = 1
SC_STATE_Q = 2  # session-local index of the one product with carried state, -1 if none
SC_SEEN_SLOT = 3  # class slot this smaller session writes ("saw it here last"), 0: none
SC_WRITES_BOUGHT = 4  # 1 if a later session shows the product, so buyers must be recorded
N_SC = 5
# state segments of tracked pools, int64[G, N_SG]
SG_POOL = 0  # pool index
SG_SIZE = 1  # identities in the segment, people
N_SG = 2
