"""Item statistics for interview questions from pilot ratings (题目质量分析).

Input
-----
``pilot`` (long format, one row per rating): ``candidate_id``, ``question_id``, ``rating`` (ordinal, usually
1–5), optional ``rater_id`` and optional candidate-level attribute columns (``gender``, ``hukou_type`` …) repeated
on every row. ``questions``: ``question_id`` → ``competency_id``. Rows whose rating is missing are dropped;
non-numeric ratings, missing ids or missing columns raise :class:`workbench.errors.DataError`.

What is computed and how (a reviewer's checklist)
-------------------------------------------------
* **Consensus score** of an answer (candidate × question) = mean of its ratings. Means, SDs, item-total
  correlations, α, DIF and IRT use consensus scores. **Floor/ceiling shares use the raw ratings** (share of all
  ratings of the question at the scale minimum / maximum; the scale is the observed min/max of the whole pilot
  unless ``scale=`` is given).
* **Cronbach's α** = k/(k−1)·(1 − Σ var(item)/var(total)), sample variances (ddof = 1), on candidates with all
  items of the competency (listwise). Equals ``pingouin.cronbach_alpha`` on complete data. When candidates of
  different roles answer different questions of one competency, :func:`item_statistics` analyses each *form*
  (the block of questions answered by the same candidates; labelled by ``role_id`` when ``questions`` has one)
  separately — α, item-rest r, DIF matching and the GRM are per form; ICC is per competency.
* **Corrected item-total r** = Pearson r of the item with the sum of the *other* items of its competency.
* **QWK** = 2·cov(a, b) / (var a + var b + (mean a − mean b)²) with population moments. This is quadratic
  weighted kappa with weights (a − b)² on the *rating values*; it equals
  ``sklearn.metrics.cohen_kappa_score(a, b, weights="quadratic")`` whenever the observed categories are
  consecutive integers (or sklearn is given ``labels=range(min, max + 1)``). sklearn weights by category
  *index*, so with an unused middle category (say nobody gave a 3) sklearn treats 2 → 4 as one step; we do not.
  For questions with more than two ratings per answer the table reports the mean QWK over rating pairs.
* **ICC** from the two-way ANOVA of answers × raters, the six Shrout–Fleiss / McGraw–Wong forms exactly as
  ``pingouin.intraclass_corr`` (pingouin 0.7 labels ICC(1,1), ICC(A,1), ICC(C,1), ICC(1,k), ICC(A,k),
  ICC(C,k) = our ICC1, ICC2, ICC3, ICC1k, ICC2k, ICC3k). Rater design:

  - *crossed*: ``rater_id`` given and every double-rated answer was rated once by every rater → all six forms are
    meaningful; the recommended single-rater coefficient is ICC2 (absolute agreement, raters random).
  - *one-way*: otherwise (typical for interviews: two raters drawn from a pool per answer). The ratings of each
    answer, in row order, become "rating 1", "rating 2", …; when answers have different numbers of ratings, the
    first k (k = the smallest count ≥ 2) are used. The ICC2/ICC3 forms are then printed for completeness but are
    not interpretable (the "rater" columns are arbitrary slots); **ICC1 / ICC1k are the right model** (one-way
    random effects; they are invariant to how ratings are assigned to slots) and are marked ``recommended``.
  - Answers with a single rating are ignored.
* **MH DIF** (Holland & Thayer 1988; Zwick 2012, ETS RR-12-08). Persons are matched on the total score of the
  items passed (in :func:`item_statistics`: the competency's items; ``matching="rest"`` excludes the studied
  item). Strata are the distinct matching scores (rounded to 1e-9). The polytomous rating is dichotomised
  ("high" = rating ≥ ``cut``, default 4). 2×2 tables per stratum: reference high/low (A, B), focal high/low (C,
  D). α_MH = Σ(AD/N)/Σ(BC/N); MH D-DIF = −2.35·ln α_MH, so **negative D = harder for the focal group at equal
  matching score**; SE = 2.35·SE(ln α_MH) with the Robins–Breslow–Greenland (1986) variance; MH χ² (1 df) with
  the 0.5 continuity correction, (max(|Σ(A − E A)| − 0.5, 0))² / Σ var A. These equal statsmodels'
  ``StratifiedTable.oddsratio_pooled``, ``logodds_pooled_se`` and ``test_null_odds(correction=True)``.
  ETS rule: A if |D| < 1 or p ≥ .05; C if |D| ≥ 1.5 and (|D| − 1)/SE > 1.645; B otherwise.
  For the ordinal rating itself: Mantel's (1963) χ² (1 df, no continuity correction) on the sum of focal-group
  scores per stratum, and Dorans' standardized mean difference SMD = Σ_k w_k (m_Fk − m_Rk) with w_k the focal
  group's share in stratum k; SMD/SD divides by the item's SD in focal + reference combined. ETS polytomous
  rule (Zwick, Thayer & Mazzeo 1997): AA if p ≥ .05 or |SMD/SD| ≤ .17; CC if p < .05 and |SMD/SD| > .25; BB
  otherwise. **Dropped strata**: strata holding only one of the two groups are dropped everywhere; for the
  χ² statistics and α_MH, strata whose (dichotomised / ordinal) responses do not vary are also dropped — they
  contribute exactly zero, so this only avoids 0/0 for one-person strata. Zero-variance strata are *kept* for
  the SMD weights (their contribution is 0 but dropping them would inflate SMD).
  :func:`item_statistics` matches on the competency total **with purification** (``mh_dif(purify=True)``: items
  classified C/CC are removed from the other items' matching score and the analysis is repeated until stable;
  Holland & Thayer 1988), because with 3–5 questions per competency one strong DIF item otherwise pushes spurious
  opposite-signed DIF onto the others. Focal/reference: given explicitly, or the most frequent value of a group
  column is the reference and every other value a focal group. ETS classes are withheld (None) when either group
  has fewer than ``dif_min_group`` candidates.
* **Graded response model** (Samejima) P(X ≥ k | θ) = logistic(a(θ − b_k)), fitted by marginal maximum
  likelihood with θ ~ N(0, 1) integrated by Gauss–Hermite quadrature (``n_quad`` nodes) and L-BFGS on the exact
  analytic gradient (Fisher identity: the gradient of the marginal log-likelihood equals the expected complete-
  data gradient under the posterior of θ). Thresholds are kept ordered by a log-increment parametrisation.
  Standard errors come from the inverse of a finite-difference Hessian of the analytic gradient (delta method for
  b = −d/a). The sign of θ is fixed so that Σa ≥ 0. Each item's categories are its observed distinct values in
  order (an unused category is merged away; see the ``categories`` column).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from .._stats import qwk
from ..errors import ConfigurationError, DataError
from ..i18n import resolve_lang
from ..i18n import t as _t

__all__ = [
    "ItemThresholds",
    "ItemStatsResult",
    "consensus_scores",
    "cronbach_alpha",
    "alpha_if_deleted",
    "corrected_item_total",
    "quadratic_weighted_kappa",
    "icc",
    "mh_dif",
    "grm_fit",
    "item_statistics",
    "FLAG_LABELS",
]

PERSON, ITEM, RATING, RATER, COMP = "candidate_id", "question_id", "rating", "rater_id", "competency_id"
_D_SCALE = 2.35  # ETS delta metric: 4 / 1.7 ≈ 2.35


@dataclass(frozen=True)
class ItemThresholds:
    """Decision thresholds for the item, competency, agreement, DIF and IRT checks.

    Sources:

    * ``min_item_total`` / ``marginal_item_total`` — corrected item-total (item-rest) correlation bands attributed
      to Ebel & Frisbie (1991), *Essentials of Educational Measurement*: ≥ .30 good, .20–.29 marginal
      (revise), < .20 poor (revise or drop), < 0 check the scoring key.
    * ``min_alpha`` — Nunnally (1978), *Psychometric Theory*, pp. 245–246: ≈ .70 is enough for early-stage
      research; for decisions about individuals .90 minimum, .95 desirable.
    * ``floor_ceiling_share`` — Terwee et al. (2007), *J Clin Epidemiol* 60:34–42: floor/ceiling effects are
      present when > 15 % of respondents obtain the lowest/highest possible score.
    * ``min_sd`` — a workbench convention (no literature source): an SD below half a scale point on a 1–5 scale
      means nearly everyone gets the same rating.
    * ``min_qwk`` — Williamson, Xi & Breyer (2012), *EM:IP* 31(1): QWK ≥ .70 between independent raters.
    * ``min_icc`` — Cicchetti (1994), *Psychological Assessment* 6(4):284–290: < .40 poor, .40–.59 fair,
      .60–.74 good, ≥ .75 excellent.
    * ``dif_min_group`` — the smallest focal/reference group for which an ETS class is reported. This is a floor
      for *pilot* data, not an operational standard: Zwick (2012, ETS RR-12-08) reviews ETS minimums and finds the
      C rule underpowered even for large samples; operational practice uses a few hundred per group (e.g. ≥ 200
      focal / 500 total). Below that, treat classes as exploratory.
    * ``irt_min_n`` — rule of thumb for the graded response model: several hundred respondents (≈ 500+ for stable
      thresholds with 5 categories); 200 is the minimum at which a fit is attempted.
    """

    min_item_total: float = 0.30
    marginal_item_total: float = 0.20
    min_alpha: float = 0.70
    floor_ceiling_share: float = 0.15
    min_sd: float = 0.5
    min_qwk: float = 0.70
    min_icc: float = 0.60
    dif_min_group: int = 50
    irt_min_n: int = 200


# --------------------------------------------------------------------------------------------------------------
# input checks
# --------------------------------------------------------------------------------------------------------------


def _check_frame(df: object, name: str, required: Sequence[str]) -> None:
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"{name} must be a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise DataError(f"{name} lacks required column(s) {missing}; it has {list(map(str, df.columns))}")


def _numeric(series: pd.Series, name: str, column: str) -> pd.Series:
    """The column as float64; DataError naming the column and examples when values are not numbers."""
    s = series
    if pd.api.types.is_bool_dtype(s):
        raise DataError(f"column {column!r} of {name} must hold numbers, not true/false values")
    if not pd.api.types.is_numeric_dtype(s):
        conv = pd.to_numeric(s.astype(object), errors="coerce")
        bad = s.notna() & conv.isna()
        if bad.any():
            examples = list(dict.fromkeys(map(str, s[bad].tolist())))[:5]
            raise DataError(f"column {column!r} of {name} must be numeric; {int(bad.sum())} value(s) are not, e.g. {examples}")
        s = conv
    s = s.astype("float64")
    if np.isinf(s.to_numpy()).any():
        raise DataError(f"column {column!r} of {name} contains infinite values")
    return s


def _prepare_pilot(pilot: object) -> pd.DataFrame:
    _check_frame(pilot, "pilot", [PERSON, ITEM, RATING])
    p = pilot.copy()
    p[RATING] = _numeric(p[RATING], "pilot", RATING)
    for col in (PERSON, ITEM):
        if p[col].isna().any():
            raise DataError(f"column {col!r} of pilot has {int(p[col].isna().sum())} missing value(s)")
    p = p[p[RATING].notna()].reset_index(drop=True)
    if p.empty:
        raise DataError("pilot has no ratings (no rows with a numeric 'rating')")
    return p


def _prepare_questions(questions: object) -> pd.DataFrame:
    _check_frame(questions, "questions", [ITEM, COMP])
    q = questions[[ITEM, COMP] + (["role_id"] if "role_id" in questions.columns else [])].drop_duplicates([ITEM, COMP])
    if q[ITEM].isna().any() or q[COMP].isna().any():
        raise DataError("questions has missing 'question_id' or 'competency_id' values")
    dup = q[ITEM][q[ITEM].duplicated()]
    if len(dup):
        raise DataError(f"questions maps question_id(s) {sorted(map(str, dup.unique()))[:5]} to more than one competency_id")
    return q.reset_index(drop=True)


def _wide_matrix(wide: object, name: str = "wide", *, min_items: int = 2) -> pd.DataFrame:
    """Numeric, listwise-complete persons × items frame; DataError when unusable."""
    if not isinstance(wide, pd.DataFrame):
        raise DataError(f"{name} must be a pandas DataFrame (candidates × items), got {type(wide).__name__}")
    if wide.shape[1] < min_items:
        raise DataError(f"{name} needs at least {min_items} item columns, has {wide.shape[1]}")
    out = pd.DataFrame({c: _numeric(wide[c], name, str(c)) for c in wide.columns}, index=wide.index)
    out.columns = wide.columns
    out = out.dropna(how="any")
    if len(out) < 2:
        raise DataError(f"{name} has {len(out)} candidate(s) with all items rated; at least 2 are needed")
    return out


# --------------------------------------------------------------------------------------------------------------
# consensus scores and classical test theory
# --------------------------------------------------------------------------------------------------------------


def _consensus(p: pd.DataFrame) -> pd.DataFrame:
    keys = [PERSON, ITEM]
    g = p.groupby(keys, sort=True, dropna=False)
    out = g[RATING].agg(rating="mean", n_ratings="size").reset_index()
    extra = [c for c in p.columns if c not in (PERSON, ITEM, RATING, RATER)]
    if extra:
        nun = g[extra].nunique(dropna=False)
        keep = [c for c in extra if bool((nun[c] <= 1).all())]
        if keep:
            out = out.merge(g[keep].first().reset_index(), on=keys, how="left")
    return out


def consensus_scores(pilot: pd.DataFrame) -> pd.DataFrame:
    """One row per candidate × question: ``rating`` = mean over raters, ``n_ratings``, plus every other column that
    is constant within the answer (candidate attributes such as ``gender``; rater-level columns are dropped)."""
    return _consensus(_prepare_pilot(pilot))


def _alpha(X: np.ndarray) -> float:
    k = X.shape[1]
    if k < 2:
        return float("nan")
    total_var = X.sum(axis=1).var(ddof=1)
    if not total_var > 0:
        return float("nan")
    return float(k / (k - 1) * (1.0 - X.var(axis=0, ddof=1).sum() / total_var))


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    x, y = x - x.mean(), y - y.mean()
    den = math.sqrt(float((x * x).sum() * (y * y).sum()))
    return float((x * y).sum() / den) if den > 0 else float("nan")


def cronbach_alpha(wide: pd.DataFrame) -> float:
    """Cronbach's α of a candidates × items frame (rows with any missing item are dropped)."""
    return _alpha(_wide_matrix(wide).to_numpy())


def alpha_if_deleted(wide: pd.DataFrame) -> pd.Series:
    """α of the remaining items when each item is left out (NaN when fewer than 2 items would remain)."""
    W = _wide_matrix(wide)
    X = W.to_numpy()
    values = [_alpha(np.delete(X, j, axis=1)) for j in range(X.shape[1])]
    return pd.Series(values, index=W.columns, name="alpha_if_deleted", dtype="float64")


def corrected_item_total(wide: pd.DataFrame) -> pd.Series:
    """Pearson r of each item with the total of the OTHER items (item-rest correlation)."""
    W = _wide_matrix(wide)
    X = W.to_numpy()
    total = X.sum(axis=1)
    values = [_pearson(X[:, j], total - X[:, j]) for j in range(X.shape[1])]
    return pd.Series(values, index=W.columns, name="corrected_item_total", dtype="float64")


def quadratic_weighted_kappa(a, b) -> float:
    """Quadratic weighted kappa of two paired rating vectors (pairs with a missing value are dropped).

    Closed form 2·cov/(var a + var b + (mean a − mean b)²), population moments; equals sklearn's
    ``cohen_kappa_score(weights="quadratic")`` for integer ratings on consecutive categories (module docstring).
    NaN when fewer than 2 pairs or both raters are constant.
    """
    try:
        x = np.asarray(a, dtype="float64").ravel()
        y = np.asarray(b, dtype="float64").ravel()
    except (TypeError, ValueError) as exc:
        raise DataError(f"quadratic_weighted_kappa needs numeric ratings: {exc}") from None
    if x.shape != y.shape:
        raise DataError(f"quadratic_weighted_kappa needs paired ratings of equal length, got {x.size} and {y.size}")
    return qwk(x, y)  # the project's one QWK (workbench._stats)


# --------------------------------------------------------------------------------------------------------------
# inter-rater agreement
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _RatingMatrix:
    Y: np.ndarray  # answers × raters (or rating slots), complete
    design: str  # "crossed" or "one_way"
    n_single: int  # answers with one rating (ignored)
    truncated: bool  # one-way design in which some answers had more than k ratings


def _rating_matrix(p: pd.DataFrame) -> _RatingMatrix | None:
    """Complete answers × raters matrix of the double-rated answers in ``p`` (see the module docstring)."""
    ans = p.groupby([PERSON, ITEM], sort=True).ngroup().to_numpy()
    counts = np.bincount(ans)
    multi = counts[ans] >= 2
    n_single = int((counts == 1).sum())
    if not multi.any():
        return None
    sub = p.loc[multi, [RATING] + ([RATER] if RATER in p.columns else [])].copy()
    sub["_ans"] = ans[multi]
    n_ans = sub["_ans"].nunique()
    if RATER in sub.columns and sub[RATER].notna().all():
        n_raters = sub[RATER].nunique()
        if n_raters >= 2 and len(sub) == n_ans * n_raters and not sub.duplicated(["_ans", RATER]).any():
            Y = sub.pivot(index="_ans", columns=RATER, values=RATING).to_numpy(dtype="float64")
            return _RatingMatrix(Y, "crossed", n_single, False)
    sub["_slot"] = sub.groupby("_ans").cumcount()
    per = sub.groupby("_ans").size()
    k = int(per.min())
    Y = sub[sub["_slot"] < k].pivot(index="_ans", columns="_slot", values=RATING).to_numpy(dtype="float64")
    return _RatingMatrix(Y, "one_way", n_single, bool((per > k).any()))


_ICC_TYPES = ("ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k")
_ICC_LABELS = ("ICC(1,1)", "ICC(A,1)", "ICC(C,1)", "ICC(1,k)", "ICC(A,k)", "ICC(C,k)")


def _icc_frame(Y: np.ndarray, lang: str | None = None) -> pd.DataFrame:
    """The six ICCs, F tests and 95 % CIs from a complete targets × raters matrix (pingouin's formulas)."""
    n, k = Y.shape
    if n < 2 or k < 2:
        raise DataError(f"ICC needs at least 2 answers and 2 ratings per answer, has {n} × {k}")
    gm = Y.mean()
    ss_t = k * ((Y.mean(axis=1) - gm) ** 2).sum()
    ss_r = n * ((Y.mean(axis=0) - gm) ** 2).sum()
    ss_e = ((Y - gm) ** 2).sum() - ss_t - ss_r
    df1, df_w, df_e = n - 1, n * (k - 1), (n - 1) * (k - 1)
    msb, msj, mse = ss_t / df1, ss_r / (k - 1), ss_e / df_e
    msw = (ss_r + ss_e) / df_w
    with np.errstate(divide="ignore", invalid="ignore"):
        icc1 = (msb - msw) / (msb + (k - 1) * msw)
        icc2 = (msb - mse) / (msb + (k - 1) * mse + k * (msj - mse) / n)
        icc3 = (msb - mse) / (msb + (k - 1) * mse)
        icc1k = (msb - msw) / msb
        icc2k = (msb - mse) / (msb + (msj - mse) / n)
        icc3k = (msb - mse) / msb
        f1 = msb / msw
        f3 = msb / mse
        p1 = stats.f.sf(f1, df1, df_w)
        p3 = stats.f.sf(f3, df1, df_e)
        a = 0.05
        f1l, f1u = f1 / stats.f.ppf(1 - a / 2, df1, df_w), f1 * stats.f.ppf(1 - a / 2, df_w, df1)
        f3l, f3u = f3 / stats.f.ppf(1 - a / 2, df1, df_e), f3 * stats.f.ppf(1 - a / 2, df_e, df1)
        l1, u1 = (f1l - 1) / (f1l + k - 1), (f1u - 1) / (f1u + k - 1)
        l3, u3 = (f3l - 1) / (f3l + k - 1), (f3u - 1) / (f3u + k - 1)
        fj = msj / mse
        vn = df_e * (k * icc2 * fj + n * (1 + (k - 1) * icc2) - k * icc2) ** 2
        vd = df1 * k**2 * icc2**2 * fj**2 + (n * (1 + (k - 1) * icc2) - k * icc2) ** 2
        v = vn / vd
        f2u, f2l = stats.f.ppf(1 - a / 2, n - 1, v), stats.f.ppf(1 - a / 2, v, n - 1)
        l2 = n * (msb - f2u * mse) / (f2u * (k * msj + (k * n - k - n) * mse) + n * msb)
        u2 = n * (f2l * msb - mse) / (k * msj + (k * n - k - n) * mse + n * f2l * msb)
        cis = [
            (l1, u1),
            (l2, u2),
            (l3, u3),
            (1 - 1 / f1l, 1 - 1 / f1u),
            (l2 * k / (1 + l2 * (k - 1)), u2 * k / (1 + u2 * (k - 1))),
            (1 - 1 / f3l, 1 - 1 / f3u),
        ]
    return pd.DataFrame(
        {
            "type": list(_ICC_TYPES),
            "label": list(_ICC_LABELS),
            "description": [_t(f"items.icc.{k}", lang) for k in _ICC_TYPES],
            "icc": [float(x) for x in (icc1, icc2, icc3, icc1k, icc2k, icc3k)],
            "F": [float(x) for x in (f1, f3, f3, f1, f3, f3)],
            "df1": [df1] * 6,
            "df2": [df_w, df_e, df_e, df_w, df_e, df_e],
            "p_value": [float(x) for x in (p1, p3, p3, p1, p3, p3)],
            "ci95_low": [float(c[0]) for c in cis],
            "ci95_high": [float(c[1]) for c in cis],
        }
    )


def icc(pilot: pd.DataFrame) -> pd.DataFrame:
    """Intraclass correlations of the ratings of answers (candidate × question) with two or more ratings.

    Returns six rows (ICC1, ICC2, ICC3, ICC1k, ICC2k, ICC3k) with ``label`` (pingouin 0.7 name), ``icc``, ``F``,
    ``df1``, ``df2``, ``p_value``, ``ci95_low``/``ci95_high``, ``n_answers``, ``n_raters`` (k), ``design``
    ("crossed" or "one_way") and ``recommended`` (ICC2/ICC2k for crossed, ICC1/ICC1k for one-way designs).
    For the one-way case — each answer rated by exactly 2 (or k) raters who vary from answer to answer — the
    ratings are treated as "rating 1" / "rating 2" in row order and ICC1 is the right model (module docstring).
    """
    p = _prepare_pilot(pilot)
    m = _rating_matrix(p)
    if m is None:
        raise DataError("no answer (candidate × question) has two or more ratings; ICC needs double-rated answers")
    out = _icc_frame(m.Y)
    out["n_answers"] = m.Y.shape[0]
    out["n_raters"] = m.Y.shape[1]
    out["design"] = m.design
    rec = ("ICC2", "ICC2k") if m.design == "crossed" else ("ICC1", "ICC1k")
    out["recommended"] = out["type"].isin(rec)
    return out


# --------------------------------------------------------------------------------------------------------------
# Mantel–Haenszel DIF
# --------------------------------------------------------------------------------------------------------------

DIF_COLUMNS = [
    "group", "focal", "reference", "n_focal", "n_reference", "n_strata", "matching", "cut",
    "alpha_mh", "mh_d_dif", "se", "chi2", "p_value", "ets_class", "disadvantaged",
    "mantel_chi2", "mantel_p", "smd", "smd_sd", "ets_poly_class",
]  # fmt: skip


def _ets_class(d: float, se: float, p: float) -> str | None:
    if not (np.isfinite(d) and np.isfinite(p)):
        return None
    if abs(d) < 1.0 or p >= 0.05:
        return "A"
    if abs(d) >= 1.5 and np.isfinite(se) and se > 0 and (abs(d) - 1.0) / se > 1.645:
        return "C"
    return "B"


def _ets_poly_class(smd_sd: float, p: float) -> str | None:
    if not (np.isfinite(smd_sd) and np.isfinite(p)):
        return None
    if p >= 0.05 or abs(smd_sd) <= 0.17:
        return "AA"
    if abs(smd_sd) > 0.25:
        return "CC"
    return "BB"


def _mh_item(y: np.ndarray, match: np.ndarray, focal: np.ndarray, cut: float) -> dict:
    """MH / Mantel / SMD statistics of one item; ``focal`` is a boolean mask (others are reference)."""
    _, inv = np.unique(np.round(match, 9), return_inverse=True)
    S = inv.max() + 1
    f = focal.astype("float64")
    r = 1.0 - f
    nF, nR = np.bincount(inv, f, S), np.bincount(inv, r, S)
    both = (nF > 0) & (nR > 0)
    # dichotomous MH
    high = (y >= cut).astype("float64")
    A, B = np.bincount(inv, r * high, S), np.bincount(inv, r * (1 - high), S)
    C, D = np.bincount(inv, f * high, S), np.bincount(inv, f * (1 - high), S)
    use = both & (A + C > 0) & (B + D > 0)
    A, B, C, D = A[use], B[use], C[use], D[use]
    N = A + B + C + D
    nan = float("nan")
    alpha = ln_se = chi2 = p = nan
    if use.any():
        R, Sx = (A * D / N).sum(), (B * C / N).sum()
        if R > 0 and Sx > 0:
            alpha = R / Sx
            P, Q = (A + D) / N, (B + C) / N
            var = (
                (P * A * D / N).sum() / (2 * R**2)
                + ((P * B * C / N) + (Q * A * D / N)).sum() / (2 * R * Sx)
                + (Q * B * C / N).sum() / (2 * Sx**2)
            )
            ln_se = math.sqrt(var)
        elif R > 0 or Sx > 0:
            alpha = np.inf if Sx == 0 else 0.0
        dev = (A - (A + B) * (A + C) / N).sum()
        v = ((A + B) * (C + D) * (A + C) * (B + D) / (N**2 * (N - 1))).sum()
        if v > 0:
            chi2 = max(abs(dev) - 0.5, 0.0) ** 2 / v
            p = float(stats.chi2.sf(chi2, 1))
    if np.isnan(alpha):
        d_dif = nan
    elif alpha == np.inf:
        d_dif = -np.inf
    elif alpha == 0:
        d_dif = np.inf
    else:
        d_dif = -_D_SCALE * math.log(alpha)
    se = _D_SCALE * ln_se
    # ordinal: Mantel chi-square and standardized mean difference
    N_all = nF + nR
    sum_y = np.bincount(inv, y, S)
    F_sum = np.bincount(inv, f * y, S)
    mean_k = np.divide(sum_y, N_all, out=np.zeros(S), where=N_all > 0)
    dev2 = np.bincount(inv, (y - mean_k[inv]) ** 2, S)
    use_p = both & (N_all >= 2) & (dev2 > 0)
    mantel = mantel_p = nan
    if use_p.any():
        Nk, nFk, nRk = N_all[use_p], nF[use_p], nR[use_p]
        e = nFk / Nk * sum_y[use_p]
        v = nRk * nFk * dev2[use_p] / (Nk * (Nk - 1))
        if v.sum() > 0:
            mantel = float((F_sum[use_p] - e).sum() ** 2 / v.sum())
            mantel_p = float(stats.chi2.sf(mantel, 1))
    smd = smd_sd = nan
    if both.any():
        mF = F_sum[both] / nF[both]
        mR = (sum_y[both] - F_sum[both]) / nR[both]
        w = nF[both] / nF[both].sum()
        smd = float((w * (mF - mR)).sum())
        sd = float(np.std(y, ddof=1)) if y.size > 1 else nan
        smd_sd = smd / sd if sd > 0 else nan
    return {
        "n_strata": int(both.sum()),
        "alpha_mh": float(alpha),
        "mh_d_dif": float(d_dif),
        "se": float(se),
        "chi2": float(chi2),
        "p_value": float(p),
        "ets_class": _ets_class(d_dif, se, p),
        "disadvantaged": "focal" if d_dif < 0 else ("reference" if d_dif > 0 else ""),
        "mantel_chi2": mantel,
        "mantel_p": mantel_p,
        "smd": smd,
        "smd_sd": smd_sd,
        "ets_poly_class": _ets_poly_class(smd_sd, mantel_p),
    }


def mh_dif(
    scores: pd.DataFrame,
    *,
    group: str,
    focal,
    reference,
    item_col: str = "question_id",
    score_col: str = "rating",
    person_col: str = "candidate_id",
    matching: str = "total",
    cut: float | None = None,
    purify: bool = False,
    max_purify_iter: int = 10,
) -> pd.DataFrame:
    """Mantel–Haenszel DIF of every item in ``scores`` (long format), focal vs reference group of column ``group``.

    Persons need a score on every item (others are dropped) and one group value; several scores of a person on
    an item are averaged. ``matching``: "total" (sum over all items, studied item included — Holland & Thayer) or
    "rest" (studied item excluded). ``cut``: ratings ≥ cut count as "high" for the 2×2 MH analysis (default 4,
    i.e. 4–5 on a 1–5 scale; pass it explicitly for other scales). One row per item with the columns of
    ``DIF_COLUMNS``; negative ``mh_d_dif`` = harder for the focal group at equal matching score.

    ``purify=True`` refines the matching score (Holland & Thayer 1988 two-stage procedure, iterated as in R's
    difR): items classified C or CC are removed from the matching total of the *other* items (the studied item
    itself stays in a "total" criterion) and the analysis is repeated until the set of C/CC items no longer
    changes (at most ``max_purify_iter`` rounds). With few items per competency one strong DIF item otherwise
    pushes spurious opposite-signed DIF onto all the others. ``excluded_from_matching`` lists the removed items.
    """
    _check_frame(scores, "scores", [person_col, item_col, score_col, group])
    if matching not in ("total", "rest"):
        raise ConfigurationError(f"matching must be 'total' or 'rest', got {matching!r}")
    if focal == reference:
        raise ConfigurationError(f"focal and reference must differ, both are {focal!r}")
    cut = 4.0 if cut is None else float(cut)
    df = scores[[person_col, item_col, score_col, group]].copy()
    df[score_col] = _numeric(df[score_col], "scores", score_col)
    df = df[df[score_col].notna()]
    per_person = df.groupby(person_col)[group].nunique(dropna=False)
    if (per_person > 1).any():
        bad = per_person[per_person > 1].index[:3].tolist()
        raise DataError(f"column {group!r} must be constant per person; {len(per_person[per_person > 1])} person(s) have several values, e.g. {bad}")
    df = df[df[group].isin([focal, reference])]
    groups = df.groupby(person_col)[group].first()
    for label, value in (("focal", focal), ("reference", reference)):
        if not (groups == value).any():
            raise DataError(f"no person in the {label} group {group}={value!r}")
    wide = df.groupby([person_col, item_col])[score_col].mean().unstack(item_col).dropna(how="any")
    if wide.empty:
        raise DataError("no person of the two groups has a score on every item")
    is_focal = (groups.reindex(wide.index) == focal).to_numpy()
    X = wide.to_numpy(dtype="float64")
    excluded = np.zeros(X.shape[1], dtype=bool)

    def analyse(excluded: np.ndarray) -> list[dict]:
        anchor_total = X[:, ~excluded].sum(axis=1)
        rows = []
        for j, item in enumerate(wide.columns):
            others = anchor_total if excluded[j] else anchor_total - X[:, j]  # non-excluded items other than j
            match = others + X[:, j] if matching == "total" else others
            row = {item_col: item, "group": group, "focal": focal, "reference": reference,
                   "n_focal": int(is_focal.sum()), "n_reference": int((~is_focal).sum()), "matching": matching, "cut": cut}  # fmt: skip
            row.update(_mh_item(X[:, j], match, is_focal, cut))
            row["excluded_from_matching"] = ",".join(str(c) for c, e in zip(wide.columns, excluded) if e and c != item)
            rows.append(row)
        return rows

    rows = analyse(excluded)
    if purify:
        for _ in range(max_purify_iter):
            flagged = np.array([r["ets_class"] == "C" or r["ets_poly_class"] == "CC" for r in rows])
            if flagged.all() or (flagged == excluded).all():
                break
            excluded = flagged
            rows = analyse(excluded)
    return pd.DataFrame(rows, columns=[item_col, *DIF_COLUMNS, "excluded_from_matching"])


# --------------------------------------------------------------------------------------------------------------
# graded response model
# --------------------------------------------------------------------------------------------------------------


class _GRM:
    """Marginal log-likelihood of Samejima's GRM and its gradient in the (a, d) parametrisation.

    P(X ≥ k | θ) = logistic(a θ + d_k), k = 1 … K−1, d_1 > d_2 > …; b_k = −d_k / a.
    """

    def __init__(self, codes: np.ndarray, n_cats: list[int], n_quad: int):
        self.codes = codes  # persons × items, 0 … K_j−1, −1 = missing
        self.n_cats = n_cats
        nodes, weights = np.polynomial.hermite_e.hermegauss(n_quad)
        self.theta = nodes
        self.logw = np.log(weights / math.sqrt(2 * math.pi))
        self.onehot = []
        for j, K in enumerate(n_cats):
            oh = np.zeros((codes.shape[0], K))
            obs = codes[:, j] >= 0
            oh[np.flatnonzero(obs), codes[obs, j]] = 1.0
            self.onehot.append(oh)
        self.sizes = [K for K in n_cats]  # params per item: a + (K − 1) thresholds
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)])

    def split(self, x: np.ndarray):
        return [(x[o], x[o + 1 : o + K]) for o, K in zip(self.offsets[:-1], self.sizes)]

    def _probs(self, a: float, d: np.ndarray):
        Ps = special.expit(a * self.theta[:, None] + d[None, :])  # Q × (K−1)
        Q = Ps.shape[0]
        cum = np.hstack([np.ones((Q, 1)), Ps, np.zeros((Q, 1))])
        P = np.maximum(cum[:, :-1] - cum[:, 1:], 1e-300)
        W = np.hstack([np.zeros((Q, 1)), Ps * (1 - Ps), np.zeros((Q, 1))])
        return P, W

    def loglik_grad(self, ad: np.ndarray, grad: bool = True):
        parts = self.split(ad)
        n = self.codes.shape[0]
        logL = np.zeros((n, self.theta.size))
        probs = []
        for j, (a, d) in enumerate(parts):
            P, W = self._probs(a, d)
            probs.append((P, W))
            logL += self.onehot[j] @ np.log(P).T
        joint = logL + self.logw
        li = special.logsumexp(joint, axis=1)
        ll = float(li.sum())
        if not grad:
            return ll, None
        post = np.exp(joint - li[:, None])
        g = np.empty_like(ad)
        for j, ((P, W), o) in enumerate(zip(probs, self.offsets[:-1])):
            r = post.T @ self.onehot[j]  # Q × K expected counts
            rp = r / P
            g[o] = float((self.theta * (rp * (W[:, :-1] - W[:, 1:])).sum(axis=1)).sum())
            Wk = W[:, 1:-1]
            g[o + 1 : o + self.sizes[j]] = (Wk * (rp[:, 1:] - rp[:, :-1])).sum(axis=0)
        return ll, g

    # unconstrained parametrisation: a, eta_1 = d_1, eta_m = log(d_{m-1} − d_m)
    def to_ad(self, x: np.ndarray) -> np.ndarray:
        out = x.copy()
        for o, K in zip(self.offsets[:-1], self.sizes):
            eta = x[o + 1 : o + K]
            out[o + 1 : o + K] = eta[0] - np.concatenate([[0.0], np.cumsum(np.exp(eta[1:]))])
        return out

    def to_x(self, ad: np.ndarray) -> np.ndarray:
        out = ad.copy()
        for o, K in zip(self.offsets[:-1], self.sizes):
            d = ad[o + 1 : o + K]
            out[o + 1 : o + K] = np.concatenate([[d[0]], np.log(np.maximum(-np.diff(d), 1e-12))])
        return out

    def objective(self, x: np.ndarray):
        ad = self.to_ad(x)
        ll, g = self.loglik_grad(ad)
        gx = g.copy()
        for o, K in zip(self.offsets[:-1], self.sizes):
            gd = g[o + 1 : o + K]
            eta = x[o + 1 : o + K]
            tail = np.cumsum(gd[::-1])[::-1]  # Σ_{k ≥ m} g_d[k]
            gx[o + 1] = gd.sum()
            gx[o + 2 : o + K] = -np.exp(eta[1:]) * tail[1:]
        n = self.codes.shape[0]
        return -ll / n, -gx / n


def _single_blas_thread():
    """The GRM's many small matrix products run faster on one BLAS thread (no oversubscription)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def grm_fit(wide: pd.DataFrame, *, n_quad: int = 41, max_iter: int = 500, seed: int = 0) -> pd.DataFrame:
    """Fit Samejima's graded response model by marginal maximum likelihood (θ ~ N(0, 1), Gauss–Hermite).

    ``wide``: persons × items with integer ratings (missing values allowed; rows with no rating are dropped).
    Returns one row per item: ``item``, ``n``, ``n_categories``, ``categories``, discrimination ``a``,
    thresholds ``b1 … b(K−1)`` (NaN beyond an item's own categories), ``a_se``, ``b1_se`` …, the model's total
    marginal ``loglik`` (same on every row), ``aic``, ``bic``, ``n_iter`` and ``converged``. ``seed`` only drives
    the jitter of the restart used when the first optimisation does not converge.
    """
    with _single_blas_thread():
        return _grm_fit(wide, n_quad=n_quad, max_iter=max_iter, seed=seed)


def _grm_fit(wide: pd.DataFrame, *, n_quad: int, max_iter: int, seed: int) -> pd.DataFrame:
    if not isinstance(wide, pd.DataFrame):
        raise DataError(f"grm_fit needs a persons × items DataFrame, got {type(wide).__name__}")
    if wide.shape[1] < 2:
        raise DataError(f"grm_fit needs at least 2 items (3 or more recommended), has {wide.shape[1]}")
    W = pd.DataFrame({c: _numeric(wide[c], "wide", str(c)) for c in wide.columns}, index=wide.index)
    W = W.dropna(how="all")
    X = W.to_numpy(dtype="float64")
    finite = np.isfinite(X)
    if (np.abs(X[finite] - np.round(X[finite])) > 1e-9).any():
        raise DataError("grm_fit needs integer ratings (round averaged ratings first)")
    if len(W) < 10:
        raise DataError(f"grm_fit needs at least 10 persons, has {len(W)}")
    codes = np.full(X.shape, -1, dtype=int)
    cats: list[np.ndarray] = []
    for j, col in enumerate(wide.columns):
        values = np.unique(X[finite[:, j], j])
        if values.size < 2:
            raise DataError(f"item {col!r} has a single observed rating category; the GRM cannot be fitted")
        cats.append(values)
        codes[finite[:, j], j] = np.searchsorted(values, X[finite[:, j], j])
    model = _GRM(codes, [c.size for c in cats], n_quad)

    # start values: a = 1, d_k = logit of the cumulative proportions (strictly decreasing)
    x0 = []
    for j, values in enumerate(cats):
        obs = codes[codes[:, j] >= 0, j]
        props = np.array([(obs >= k).mean() for k in range(1, values.size)])
        d = special.logit(np.clip(props, 1e-3, 1 - 1e-3)) * 1.2
        d = np.minimum.accumulate(d - np.arange(d.size) * 1e-3)
        x0.append(np.concatenate([[1.0], d]))
    x0 = model.to_x(np.concatenate(x0))
    bounds = []
    for K in model.sizes:
        bounds += [(-20.0, 20.0), (-40.0, 40.0)] + [(math.log(1e-4), math.log(60.0))] * (K - 2)

    def run(start):
        return optimize.minimize(model.objective, start, jac=True, method="L-BFGS-B", bounds=bounds,
                                 options={"maxiter": max_iter, "gtol": 1e-7, "ftol": 1e-13})  # fmt: skip

    res = run(x0)
    n_iter = int(res.nit)
    if not res.success:
        rng = np.random.default_rng(seed)
        res2 = run(np.clip(res.x + rng.normal(0, 0.05, res.x.size), [b[0] for b in bounds], [b[1] for b in bounds]))
        n_iter += int(res2.nit)
        if res2.fun <= res.fun:
            res = res2
    ad = model.to_ad(res.x)
    ll, g = model.loglik_grad(ad)
    converged = bool(res.success or np.max(np.abs(g)) / len(W) < 1e-4)
    parts = model.split(ad)
    if sum(a for a, _ in parts) < 0:  # θ → −θ leaves the likelihood unchanged; report Σa ≥ 0
        for o in model.offsets[:-1]:
            ad[o] = -ad[o]
        parts = model.split(ad)

    # standard errors: inverse of the finite-difference Hessian of the analytic gradient, in (a, d)
    cov = None
    P = ad.size
    H = np.empty((P, P))
    for i in range(P):
        h = 1e-4 * max(1.0, abs(ad[i]))
        e = np.zeros(P)
        e[i] = h
        H[:, i] = (model.loglik_grad(ad + e)[1] - model.loglik_grad(ad - e)[1]) / (2 * h)
    H = (H + H.T) / 2
    try:
        if np.all(np.linalg.eigvalsh(-H) > 0):
            cov = np.linalg.inv(-H)
    except np.linalg.LinAlgError:
        cov = None

    k_max = max(model.sizes)
    n_obs = len(W)
    rows = []
    for j, (col, (a, d)) in enumerate(zip(wide.columns, parts)):
        o = model.offsets[j]
        row = {"item": col, "n": int((codes[:, j] >= 0).sum()), "n_categories": int(cats[j].size),
               "categories": ",".join(f"{v:g}" for v in cats[j]), "a": float(a)}  # fmt: skip
        b = -d / a if abs(a) > 1e-10 else np.full(d.size, np.nan)
        for k in range(1, k_max):
            row[f"b{k}"] = float(b[k - 1]) if k - 1 < b.size else float("nan")
        row["a_se"] = float(math.sqrt(cov[o, o])) if cov is not None else float("nan")
        for k in range(1, k_max):
            se = float("nan")
            if cov is not None and k - 1 < d.size and abs(a) > 1e-10:
                idx = [o, o + k]
                J = np.array([d[k - 1] / a**2, -1.0 / a])
                se = float(math.sqrt(max(J @ cov[np.ix_(idx, idx)] @ J, 0.0)))
            row[f"b{k}_se"] = se
        row.update({"loglik": ll, "aic": -2 * ll + 2 * P, "bic": -2 * ll + P * math.log(n_obs),
                    "n_params": P, "n_iter": n_iter, "converged": converged})  # fmt: skip
        rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------------------------
# the item-statistics report
# --------------------------------------------------------------------------------------------------------------

FLAG_CODES = ("low_item_total", "negative_item_total", "marginal_item_total", "alpha_if_deleted_higher", "floor_effect", "ceiling_effect",
              "low_sd", "low_qwk", "dif_moderate", "dif_large", "single_item_competency", "insufficient_data", "ok", "low_alpha",
              "too_few_items", "too_few_candidates", "low_icc", "no_double_ratings")  # fmt: skip
FLAG_LABELS: dict[str, str] = {code: _t(f"items.flag.{code}", "zh") for code in FLAG_CODES}  # Chinese; items.flag.* in the catalog


@dataclass(frozen=True, eq=False)
class ItemStatsResult:
    """Tidy tables from :func:`item_statistics`; displays as Chinese HTML tables in Jupyter.

    * ``items``: question_id, competency_id, n, n_ratings, mean, sd, floor_share, ceiling_share,
      corrected_item_total, alpha_if_deleted, qwk, n_double_rated, flags (list of codes), explanation (Chinese).
    * ``competencies``: competency_id, form, question_ids, n_items, n_candidates, alpha, flag, explanation — one row
      per form (block of questions answered by the same candidates; see ``_forms``), usually one per competency.
    * ``agreement``: scope ("overall" or "competency"), competency_id, the :func:`icc` columns, flag, explanation.
    * ``dif``: competency_id, form, question_id and the :func:`mh_dif` columns, plus explanation.
    * ``irt``: competency_id, form, question_id, fitted, reason, and the :func:`grm_fit` columns when fitted.
    """

    items: pd.DataFrame
    competencies: pd.DataFrame
    agreement: pd.DataFrame
    dif: pd.DataFrame
    irt: pd.DataFrame
    thresholds: ItemThresholds
    scale: tuple[float, float]
    lang: str = "zh"

    def to_html(self, lang: str | None = None) -> str:
        from ._itemstats_html import render_item_statistics

        return render_item_statistics(self, lang or self.lang)

    def _repr_html_(self) -> str:
        return self.to_html()


def _group_comparisons(cons: pd.DataFrame, group_columns) -> list[tuple[str, object, object]]:
    """(column, focal, reference) pairs: explicit ``{col: (focal, reference)}`` or, for a plain column name, the
    most frequent value as reference against each other value as focal."""
    if isinstance(group_columns, str):
        group_columns = (group_columns,)
    spec: list[tuple[str, object]] = []
    if isinstance(group_columns, Mapping):
        for col, pairs in group_columns.items():
            if isinstance(pairs, tuple) and len(pairs) == 2 and not isinstance(pairs[0], tuple):
                pairs = [pairs]
            spec += [(col, tuple(pair)) for pair in pairs]
    else:
        spec = [(col, None) for col in group_columns]
    persons = cons.drop_duplicates(PERSON)
    out = []
    for col, pair in spec:
        if col not in cons.columns:
            raise DataError(f"group column {col!r} is not in pilot (or is not constant within an answer)")
        per = cons.groupby(PERSON)[col].nunique()
        if (per > 1).any():
            raise DataError(f"group column {col!r} must be constant per candidate; {int((per > 1).sum())} candidate(s) have several values")
        if pair is not None:
            out.append((col, pair[0], pair[1]))
            continue
        counts = persons[col].dropna().value_counts()
        levels = sorted(counts.index, key=lambda v: (-counts[v], str(v)))
        out += [(col, lvl, levels[0]) for lvl in levels[1:]]
    return out


def _ordered_items(p: pd.DataFrame, q: pd.DataFrame) -> list:
    present = set(p[ITEM].unique())
    return [i for i in q[ITEM] if i in present]


def item_statistics(
    pilot: pd.DataFrame,
    questions: pd.DataFrame,
    *,
    group_columns=(),
    thresholds: ItemThresholds | None = None,
    scale: tuple[float, float] | None = None,
    lang: str | None = None,
) -> ItemStatsResult:
    """Item, competency, rater-agreement, DIF and IRT statistics of piloted interview questions.

    ``group_columns``: candidate attributes for DIF, either column names (reference = the most frequent value,
    each other value is a focal group) or ``{column: (focal, reference)}`` / ``{column: [(focal, reference), …]}``.
    ``scale``: (minimum, maximum) of the rating scale for floor/ceiling shares (default: observed min/max).
    DIF matches on the competency's total score, so it needs ≥ 2 items in the competency.
    ``lang``: the language of the explanations (default: the current language).
    """
    lang = resolve_lang(lang)
    th = thresholds or ItemThresholds()
    p = _prepare_pilot(pilot)
    q = _prepare_questions(questions)
    known = set(q[ITEM])
    unknown = sorted({str(i) for i in p[ITEM].unique() if i not in known})
    if unknown:
        raise DataError(f"question_id(s) in pilot but not in questions: {unknown[:5]}{' …' if len(unknown) > 5 else ''}")
    items = _ordered_items(p, q)
    if len(items) < 2:
        raise DataError(f"pilot has ratings for a single question ({items[0]!r}); item statistics need at least 2 questions")
    lo, hi = (float(p[RATING].min()), float(p[RATING].max())) if scale is None else (float(scale[0]), float(scale[1]))
    cons = _consensus(p)
    comparisons = _group_comparisons(cons, group_columns)
    comp_of = dict(zip(q[ITEM], q[COMP]))
    competencies = list(dict.fromkeys(comp_of[i] for i in items))
    wide_all = cons.pivot(index=PERSON, columns=ITEM, values=RATING)

    item_rows: dict = {}
    comp_rows, agree_rows, dif_frames, irt_frames = [], [], [], []
    flags: dict = {i: [] for i in items}
    notes: dict = {i: [] for i in items}

    # ---- per item: distribution and rater agreement
    rows_of = {i: sub for i, sub in p.groupby(ITEM, sort=False)}
    for i in items:
        raw = rows_of[i][RATING]
        c = wide_all[i].dropna()
        m = _rating_matrix(rows_of[i])
        qwk, n_dbl = float("nan"), 0
        if m is not None:
            n_dbl = m.Y.shape[0]
            qwk = float(np.nanmean([quadratic_weighted_kappa(m.Y[:, s], m.Y[:, t]) for s, t in combinations(range(m.Y.shape[1]), 2)]))
        item_rows[i] = {
            ITEM: i, COMP: comp_of[i], "n": int(c.size), "n_ratings": int(raw.size), "mean": float(c.mean()),
            "sd": float(c.std(ddof=1)) if c.size > 1 else float("nan"),
            "floor_share": float((raw == lo).mean()), "ceiling_share": float((raw == hi).mean()),
            "corrected_item_total": float("nan"), "alpha_if_deleted": float("nan"), "qwk": qwk, "n_double_rated": n_dbl,
        }  # fmt: skip
        r = item_rows[i]
        if r["floor_share"] > th.floor_ceiling_share:
            flags[i].append("floor_effect")
            notes[i].append(_t("items.floor", lang, share=f"{r['floor_share']:.0%}", lo=f"{lo:g}", limit=f"{th.floor_ceiling_share:.0%}"))
        if r["ceiling_share"] > th.floor_ceiling_share:
            flags[i].append("ceiling_effect")
            notes[i].append(_t("items.ceiling", lang, share=f"{r['ceiling_share']:.0%}", hi=f"{hi:g}", limit=f"{th.floor_ceiling_share:.0%}"))
        if np.isfinite(r["sd"]) and r["sd"] < th.min_sd:
            flags[i].append("low_sd")
            notes[i].append(_t("items.low_sd", lang, sd=f"{r['sd']:.2f}", limit=f"{th.min_sd:g}"))
        if np.isfinite(qwk) and qwk < th.min_qwk:
            flags[i].append("low_qwk")
            notes[i].append(_t("items.low_qwk", lang, qwk=f"{qwk:.2f}", limit=f"{th.min_qwk:.2f}"))

    # ---- per competency and form: alpha, item-total, DIF, IRT; agreement per competency
    for comp in competencies:
        citems = [i for i in items if comp_of[i] == comp]
        by_item = p[p[ITEM].isin(citems)]
        agree_rows.append(_agreement(by_item, "competency", comp, th, lang))
        forms = _forms(wide_all[citems])
        in_form = {i for f in forms for i in f}
        for i in citems:
            if i not in in_form:
                flags[i].append("single_item_competency")
                notes[i].append(_t("items.single_item", lang))
        if not forms:
            comp_rows.append({COMP: comp, "form": None, "question_ids": ",".join(map(str, citems)), "n_items": len(citems), "n_candidates": int(wide_all[citems].notna().any(axis=1).sum()),
                              "alpha": float("nan"), "flag": "too_few_items",
                              "explanation": _t("items.too_few_items", lang)})  # fmt: skip
            irt_frames.append(pd.DataFrame([{COMP: comp, "form": None, ITEM: None, "fitted": False, "n": 0, "reason": _t("items.irt_too_few_items_form", lang)}]))
            for col, focal, reference in comparisons:
                dif_frames.append(pd.DataFrame([{COMP: comp, "form": None, ITEM: None, "group": col, "focal": focal, "reference": reference,
                                                 "explanation": _t("items.dif_one_per_candidate", lang)}]))  # fmt: skip
            continue
        seen: set = set()
        for k, fitems in enumerate(forms, start=1):
            label = _form_label(q, fitems, k, len(forms))
            complete = wide_all[fitems].dropna(how="any")
            # an item shared by several forms gets its item statistics from the first (largest) form
            row = _ctt_block(complete, fitems, [i for i in fitems if i not in seen], item_rows, flags, notes, th, lang)
            seen.update(fitems)
            prefix = "" if len(forms) == 1 else _t("items.form_prefix", lang, form=label, n=len(fitems))
            comp_rows.append({COMP: comp, "form": label, "question_ids": ",".join(map(str, fitems)), **row, "explanation": prefix + row["explanation"]})
            block = cons[cons[ITEM].isin(fitems)]
            for col, focal, reference in comparisons:
                dif_frames.append(_dif_rows(block, fitems, comp, col, focal, reference, th, lang).assign(form=label))
            irt_frames.append(_irt_rows(complete, fitems, comp, th, lang).assign(form=label))
    agree_rows.insert(0, _agreement(p, "overall", None, th, lang))

    dif = pd.concat(dif_frames, ignore_index=True) if dif_frames else pd.DataFrame(columns=[COMP, "form", ITEM, *DIF_COLUMNS, "explanation"])
    dif = dif[[COMP, "form", *[c for c in dif.columns if c not in (COMP, "form")]]]
    irt = pd.concat(irt_frames, ignore_index=True)
    irt = irt[[COMP, "form", *[c for c in irt.columns if c not in (COMP, "form")]]]
    _dif_flags(dif, flags, notes, lang)

    item_frame = pd.DataFrame([item_rows[i] for i in items])
    item_frame["flags"] = pd.Series([list(flags[i]) for i in items], index=item_frame.index, dtype=object)
    item_frame["explanation"] = ["\n".join(notes[i]) if notes[i] else _t("items.no_problem", lang) for i in items]
    return ItemStatsResult(
        items=item_frame,
        competencies=pd.DataFrame(comp_rows, columns=[COMP, "form", "question_ids", "n_items", "n_candidates", "alpha", "flag", "explanation"]),
        agreement=pd.concat(agree_rows, ignore_index=True),
        dif=dif,
        irt=irt,
        thresholds=th,
        scale=(lo, hi),
        lang=lang,
    )


def _forms(wide: pd.DataFrame) -> list[list]:
    """Blocks of items answered by the same candidates (for listwise α / item-total / DIF / IRT).

    Candidates are grouped by which of the competency's items they answered; patterns are taken from the most
    to the least frequent, and a pattern with ≥ 2 items becomes a form when it contains an item not yet in a
    form. A candidate belongs to every form whose items they all answered. With one question set per
    competency this is a single form; when different roles get different questions of a competency, each
    role's set is a form; a candidate who skipped a question simply drops out of that form (listwise).
    """
    answered = wide.notna()
    answered = answered[answered.any(axis=1)]
    if answered.empty:
        return []
    counts = answered.value_counts(sort=False)
    order = sorted(range(len(counts)), key=lambda r: (-int(counts.iloc[r]), r))
    assigned: set = set()
    forms = []
    for r in order:
        pattern = [c for c, on in zip(answered.columns, counts.index[r]) if on]
        if len(pattern) >= 2 and any(c not in assigned for c in pattern):
            forms.append(pattern)
            assigned.update(pattern)
    return forms


def _form_label(q: pd.DataFrame, fitems: list, k: int, n_forms: int) -> str:
    """The form's role when ``questions`` has a ``role_id`` shared by all its items, else its number."""
    if "role_id" in q.columns:
        roles = q.loc[q[ITEM].isin(fitems), "role_id"].dropna().unique()
        if len(roles) == 1:
            return str(roles[0])
    return str(k) if n_forms > 1 else "1"


def _ctt_block(complete: pd.DataFrame, fitems: list, owned: list, item_rows: dict, flags: dict, notes: dict, th: ItemThresholds,
               lang: str | None = None) -> dict:
    """α, item-rest r and α-if-deleted of one form (listwise-complete candidates × items); fills the rows of the
    ``owned`` items (those not already described by an earlier form)."""
    n_c = len(complete)
    alpha = float("nan")
    if n_c < 3:
        for i in owned:
            flags[i].append("insufficient_data")
            notes[i].append(_t("items.few_complete_item", lang, n=n_c))
        return {"n_items": len(fitems), "n_candidates": n_c, "alpha": alpha, "flag": "too_few_candidates",
                "explanation": _t("items.few_complete_form", lang, n=n_c)}  # fmt: skip
    X = complete.to_numpy(dtype="float64")
    alpha = _alpha(X)
    total = X.sum(axis=1)
    for j, i in enumerate(fitems):
        if i not in owned:
            continue
        rit = _pearson(X[:, j], total - X[:, j])
        aid = _alpha(np.delete(X, j, axis=1))
        item_rows[i]["corrected_item_total"], item_rows[i]["alpha_if_deleted"] = rit, aid
        if np.isfinite(rit) and rit < th.marginal_item_total:
            flags[i].append("low_item_total")
            notes[i].append(_t("items.low_item_total", lang, r=f"{rit:.2f}", limit=f"{th.marginal_item_total:.2f}"))
            if rit < 0:
                flags[i].append("negative_item_total")
                notes[i].append(_t("items.negative_item_total", lang))
        elif np.isfinite(rit) and rit < th.min_item_total:
            flags[i].append("marginal_item_total")
            notes[i].append(_t("items.marginal_item_total", lang, r=f"{rit:.2f}", low=f"{th.marginal_item_total:.2f}", high=f"{th.min_item_total:.2f}"))
        elif not np.isfinite(rit):
            flags[i].append("insufficient_data")
            notes[i].append(_t("items.no_variance_item", lang))
        if np.isfinite(aid) and np.isfinite(alpha) and aid > alpha:
            flags[i].append("alpha_if_deleted_higher")
            notes[i].append(_t("items.alpha_if_deleted", lang, alpha=f"{alpha:.2f}", aid=f"{aid:.2f}"))
    if not np.isfinite(alpha):
        flag, expl = "too_few_candidates", _t("items.no_variance_total", lang)
    elif alpha < th.min_alpha:
        flag = "low_alpha"
        expl = _t("items.low_alpha", lang, alpha=f"{alpha:.2f}", limit=f"{th.min_alpha:.2f}")
    else:
        flag = "ok"
        expl = _t("items.alpha_ok", lang, alpha=f"{alpha:.2f}", limit=f"{th.min_alpha:.2f}")
    return {"n_items": len(fitems), "n_candidates": n_c, "alpha": alpha, "flag": flag, "explanation": expl}


def _agreement(p: pd.DataFrame, scope: str, comp, th: ItemThresholds, lang: str | None = None) -> pd.DataFrame:
    m = _rating_matrix(p)
    if m is None or m.Y.shape[0] < 2:
        return pd.DataFrame([{"scope": scope, COMP: comp, "flag": "no_double_ratings",
                              "explanation": _t("items.no_double", lang)}])  # fmt: skip
    out = _icc_frame(m.Y, lang)
    out.insert(0, "scope", scope)
    out.insert(1, COMP, comp)
    out["n_answers"], out["n_raters"], out["design"] = m.Y.shape[0], m.Y.shape[1], m.design
    rec = ("ICC2", "ICC2k") if m.design == "crossed" else ("ICC1", "ICC1k")
    out["recommended"] = out["type"].isin(rec)
    single, avg = out.set_index("type").loc[rec[0], "icc"], out.set_index("type").loc[rec[1], "icc"]
    design = _t("items.design_crossed" if m.design == "crossed" else "items.design_one_way", lang)
    if m.truncated:
        design += _t("items.truncated", lang, k=m.Y.shape[1])
    if not np.isfinite(single):
        flag, text = "no_double_ratings", design + _t("items.icc_no_variance", lang)
    elif single < th.min_icc:
        flag = "low_icc"
        text = design + _t("items.low_icc", lang, single=f"{single:.2f}", limit=f"{th.min_icc:.2f}", k=m.Y.shape[1], avg=f"{avg:.2f}")
    else:
        flag = "ok"
        text = design + _t("items.icc_ok", lang, single=f"{single:.2f}", limit=f"{th.min_icc:.2f}", k=m.Y.shape[1], avg=f"{avg:.2f}")
    out["flag"] = np.where(out["type"] == rec[0], flag, None)
    out["explanation"] = np.where(out["type"] == rec[0], text, "")
    return out


def _dif_rows(cons: pd.DataFrame, citems: list, comp, col, focal, reference, th: ItemThresholds, lang: str | None = None) -> pd.DataFrame:
    base = {COMP: comp, "group": col, "focal": focal, "reference": reference}
    if len(citems) < 2:
        return pd.DataFrame([{**base, ITEM: None, "explanation": _t("items.dif_single", lang)}])
    try:
        out = mh_dif(cons, group=col, focal=focal, reference=reference, purify=True)
    except DataError as exc:
        return pd.DataFrame([{**base, ITEM: None, "explanation": _t("items.dif_error", lang, error=exc)}])
    out.insert(0, COMP, comp)
    expl = []
    small = (out["n_focal"] < th.dif_min_group) | (out["n_reference"] < th.dif_min_group)
    for k, r in out.iterrows():
        who = _t("items.dif_who", lang, col=col, value=focal)
        if small[k]:
            out.loc[k, ["ets_class", "ets_poly_class"]] = None
            expl.append(_t("items.dif_small", lang, focal=focal, n_focal=r["n_focal"], reference=reference, n_reference=r["n_reference"], limit=th.dif_min_group))
            continue
        cls, poly = r["ets_class"], r["ets_poly_class"]
        other = _t("items.dif_who", lang, col=col, value=reference)
        harder = who if r["mh_d_dif"] < 0 else other
        if cls == "C":
            text = _t("items.dif_c", lang, d=f"{r['mh_d_dif']:.2f}", harder=harder)
        elif cls == "B":
            text = _t("items.dif_b", lang, d=f"{r['mh_d_dif']:.2f}", harder=harder)
        elif cls == "A":
            text = _t("items.dif_a", lang, who=who, other=other)
        else:
            text = _t("items.dif_na", lang)
        if poly is not None:
            text += _t("items.dif_poly", lang, smd=f"{r['smd_sd']:.2f}", poly=poly)
        expl.append(text)
    out["explanation"] = expl
    return out


def _dif_flags(dif: pd.DataFrame, flags: dict, notes: dict, lang: str | None = None) -> None:
    if dif.empty:
        return
    for i, rows in dif[dif[ITEM].notna()].groupby(ITEM, sort=False):
        if i not in flags:
            continue
        large = rows[(rows["ets_class"] == "C") | (rows["ets_poly_class"] == "CC")]
        moderate = rows[(rows["ets_class"] == "B") | (rows["ets_poly_class"] == "BB")]
        if len(large):
            flags[i].append("dif_large")
            notes[i] += [_t("items.dif_note", lang, group=r["group"], focal=r["focal"], reference=r["reference"], text=r["explanation"]) for _, r in large.iterrows()]
        elif len(moderate):
            flags[i].append("dif_moderate")
            notes[i] += [_t("items.dif_note", lang, group=r["group"], focal=r["focal"], reference=r["reference"], text=r["explanation"]) for _, r in moderate.iterrows()]


def _irt_rows(complete: pd.DataFrame, citems: list, comp, th: ItemThresholds, lang: str | None = None) -> pd.DataFrame:
    n = len(complete)
    reason = None
    if len(citems) < 3:
        reason = _t("items.irt_few_items", lang, n=len(citems))
    elif n < th.irt_min_n:
        reason = _t("items.irt_few_candidates", lang, n=n, limit=th.irt_min_n)
    if reason is None:
        try:
            fit = grm_fit(np.floor(complete + 0.5))
        except DataError as exc:
            reason = _t("items.irt_error", lang, error=exc)
    if reason is not None:
        return pd.DataFrame([{COMP: comp, ITEM: None, "fitted": False, "n": n, "reason": reason}])
    fit = fit.rename(columns={"item": ITEM})
    fit.insert(0, COMP, comp)
    fit.insert(2, "fitted", True)
    reasons = []
    for _, r in fit.iterrows():
        text = _t("items.irt_fitted" if r["converged"] else "items.irt_not_converged", lang)
        if abs(r["a"]) < 0.35:
            text += _t("items.irt_low_a", lang, a=f"{r['a']:.2f}")
        reasons.append(text)
    fit["reason"] = reasons
    return fit
