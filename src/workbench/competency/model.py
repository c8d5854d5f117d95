"""Data-derived competency models: which competencies distinguish high performers, per role.

For each role, from the EHR tables:

* **effect sizes** — Cohen's d of each competency rating between high performers (``performance_grade ≥
  high_performer_grade``) and the rest, with a bootstrap CI;
* a **regularised model** — non-negative lasso of the standardised performance score on standardised
  competency ratings (penalty chosen by cross-validation), refitted on bootstrap resamples for CIs and a
  **stability** measure (share of resamples in which the competency is selected);
* **weights** — the lasso coefficients (one-SE penalty) of competencies selected in at least ``min_stability``
  of the resamples, normalised to sum to 1 within the role; HR can pin weights
  (``{"compliance_awareness": 0.15}`` for every role, ``{"teller.compliance_awareness": 0.2}`` for one);
  the remaining weight is shared in proportion to the data-derived weights. Roles with fewer than
  ``min_employees`` employees fall back to equal weights and are flagged.

The result merges with the competency dictionary into ``competency_model.json``.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Lasso, LassoCV

from .._hashing import sha256_json
from .._tabular import escape
from ..errors import ConfigurationError, DataError
from ..i18n import label, t
from .dictionary import DIMENSION_NAMES, DIMENSIONS, CompetencyDictionary

__all__ = ["CompetencyModel", "build_competency_model", "load_competency_model", "MODEL_SCHEMA_VERSION"]

MODEL_SCHEMA_VERSION = 1


def _cohens_d(x: np.ndarray, high: np.ndarray) -> float:
    a, b = x[high], x[~high]
    if len(a) < 2 or len(b) < 2:
        return float("nan")
    pooled = np.sqrt(((len(a) - 1) * a.var(ddof=1) + (len(b) - 1) * b.var(ddof=1)) / (len(a) + len(b) - 2))
    return float((a.mean() - b.mean()) / pooled) if pooled > 0 else 0.0


def _standardise(X: np.ndarray) -> np.ndarray:
    sd = X.std(axis=0)
    sd[sd == 0] = 1.0
    return (X - X.mean(axis=0)) / sd


def _lasso(X: np.ndarray, y: np.ndarray, alpha: float) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return Lasso(alpha=alpha, positive=True, max_iter=20000).fit(X, y).coef_


def _parse_pins(pinned: dict, dictionary: CompetencyDictionary) -> dict[str, dict[str, float]]:
    """``{"comp": w}`` or ``{"role.comp": w}`` → role → competency → weight (validated)."""
    out: dict[str, dict[str, float]] = {r: {} for r in dictionary.roles}
    for key, value in (pinned or {}).items():
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value <= 1:
            raise ConfigurationError(f"pinned weight {key!r} must be a number in [0, 1], got {value!r}")
        role, _, comp = key.rpartition(".")
        roles = [role] if role else [r for r in dictionary.roles if comp in dictionary.roles[r].competency_ids]
        if role and role not in dictionary.roles:
            raise ConfigurationError(f"pinned weight {key!r}: unknown role {role!r}")
        if comp not in dictionary.competencies:
            raise ConfigurationError(f"pinned weight {key!r}: unknown competency {comp!r}")
        if not roles or (role and comp not in dictionary.roles[role].competency_ids):
            raise ConfigurationError(f"pinned weight {key!r}: competency {comp!r} is not in that role's model")
        for r in roles:
            out[r][comp] = float(value)
    for role, pins in out.items():
        if sum(pins.values()) > 1 + 1e-9:
            raise ConfigurationError(f"pinned weights of role {role!r} add up to more than 1: {pins}")
    return out


@dataclass
class CompetencyModel:
    """Per-role analysis tables plus the merged model; displays itself in a notebook."""

    dictionary: CompetencyDictionary
    estimates: pd.DataFrame  # role × competency: effect size, coefficients, CIs, stability, weights
    roles: pd.DataFrame  # role: n, n_high, estimated, alpha, r2, warning
    params: dict
    data_hash: str
    warnings: list[str] = field(default_factory=list)

    @property
    def version(self) -> str:
        return f"{self.dictionary.version}+{sha256_json({'data': self.data_hash, 'params': self.params})[:10]}"

    def weights(self, role_id: str) -> dict[str, float]:
        rows = self.estimates[self.estimates["role_id"] == role_id]
        return dict(zip(rows["competency_id"], rows["weight"]))

    def to_dict(self) -> dict:
        roles = {}
        for role_row in self.roles.itertuples():
            role = self.dictionary.roles[role_row.role_id]
            rows = self.estimates[self.estimates["role_id"] == role.id].set_index("competency_id")
            dims = {}
            for dim in DIMENSIONS:
                comps = {}
                for cid in role.competency_ids:
                    comp = self.dictionary.competencies[cid]
                    if comp.dimension != dim:
                        continue
                    r = rows.loc[cid]
                    comps[cid] = {
                        "name": comp.name,
                        "weight": round(float(r["weight"]), 6),
                        "data_weight": round(float(r["data_weight"]), 6),
                        "pinned": bool(r["pinned"]),
                        "effect_size_d": _num(r["effect_size"]),
                        "effect_size_ci": [_num(r["effect_ci_low"]), _num(r["effect_ci_high"])],
                        "coefficient": _num(r["coef"]),
                        "coefficient_ci": [_num(r["coef_ci_low"]), _num(r["coef_ci_high"])],
                        "stability": _num(r["stability"]),
                        "definition": comp.definition,
                        "indicators": [{"id": i.id, "text": i.text} for i in comp.indicators],
                        "bars": {str(k): v for k, v in comp.bars.items()},
                    }
                dims[dim] = {"name": DIMENSION_NAMES[dim], "weight": round(sum(c["weight"] for c in comps.values()), 6), "competencies": comps}
            roles[role.id] = {
                "name": role.name,
                "n_employees": int(role_row.n),
                "n_high_performers": int(role_row.n_high),
                "estimated_from_data": bool(role_row.estimated),
                "r2_cv": _num(role_row.r2),
                "warning": role_row.warning or None,
                "dimensions": dims,
            }
        return {
            "schema_version": MODEL_SCHEMA_VERSION,
            "version": self.version,
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "dictionary": {"version": self.dictionary.version, "sha256": self.dictionary.sha256},
            "data_sha256": self.data_hash,
            "parameters": self.params,
            "method": "non-negative lasso on standardised ratings (CV penalty), bootstrap CIs and selection stability; Cohen's d high vs rest",
            "roles": roles,
        }

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=2), encoding="utf-8")
        return path

    def comparison_table(self, role_id: str | None = None, lang: str | None = None) -> pd.DataFrame:
        """Data-derived vs final weights side by side, for HR readers, in ``lang`` (names from the dictionary)."""
        est = self.estimates if role_id is None else self.estimates[self.estimates["role_id"] == role_id]
        d = self.dictionary
        pinned = t("competency.pinned", lang)
        return pd.DataFrame(
            {
                t("col.role", lang): [d.roles[r].label(lang) for r in est["role_id"]],
                t("col.dimension", lang): [label("dimension", d.competencies[c].dimension, lang) for c in est["competency_id"]],
                t("col.competency", lang): [d.competencies[c].label(lang) for c in est["competency_id"]],
                t("col.effect_size_ci", lang): [f"{e:.2f} [{lo:.2f}, {hi:.2f}]" for e, lo, hi in zip(est["effect_size"], est["effect_ci_low"], est["effect_ci_high"])],
                t("col.coef_ci", lang): [f"{c:.3f} [{lo:.3f}, {hi:.3f}]" for c, lo, hi in zip(est["coef"], est["coef_ci_low"], est["coef_ci_high"])],
                t("col.stability", lang): [f"{s:.0%}" for s in est["stability"]],
                t("col.data_weight", lang): [f"{w:.1%}" for w in est["data_weight"]],
                t("col.final_weight", lang): [f"{w:.1%}" + (pinned if p else "") for w, p in zip(est["weight"], est["pinned"])],
            }
        )

    def role_warning(self, role_id: str, lang: str | None = None) -> str:
        """Why a role got equal weights ("" when its weights come from the data)."""
        r = self.roles.set_index("role_id").loc[role_id]
        if r["estimated"]:
            return ""
        return t("competency.equal_weights_warning", lang, role=self.dictionary.roles[role_id].label(lang), n=int(r["n"]),
                 min=self.params.get("min_employees", "?"))

    def to_html(self, lang: str | None = None) -> str:
        rows = []
        sep = t("competency.list_sep", lang)
        for r in self.roles.itertuples():
            status = (f"<span class='wb-ok'>{escape(t('competency.estimated', lang))}</span>" if r.estimated
                      else f"<span class='wb-warn'>{escape(t('competency.equal_weights', lang))}</span>")
            top = self.estimates[(self.estimates["role_id"] == r.role_id)].nlargest(3, "weight")
            drivers = sep.join(t("competency.driver", lang, name=self.dictionary.competencies[c].label(lang), weight=f"{w:.0%}")
                               for c, w in zip(top["competency_id"], top["weight"]) if w > 0)
            rows.append(
                f"<tr><td>{escape(self.dictionary.roles[r.role_id].label(lang))}</td><td>{r.n}</td><td>{r.n_high}</td>"
                f"<td>{status}</td><td>{'—' if pd.isna(r.r2) else f'{r.r2:.2f}'}</td><td>{escape(drivers or '—')}</td></tr>"
            )
        warn = "".join(f"<div class='wb-note'>{escape(self.role_warning(r, lang))}</div>" for r in self.roles["role_id"] if self.role_warning(r, lang))
        head = "".join(f"<th>{escape(t(k, lang))}</th>" for k in ("col.role", "col.employees", "col.high_performers", "col.weight_source", "col.r2_cv", "col.top_competencies"))
        return (
            f"<div><h3>{escape(t('competency.model_title', lang, version=self.version))}</h3>{warn}<table><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></div>"
        )

    def _repr_html_(self) -> str:
        return self.to_html()


def _num(value) -> float | None:
    return None if value is None or (isinstance(value, float) and np.isnan(value)) else round(float(value), 6)


def build_competency_model(
    employees: pd.DataFrame,
    employee_competencies: pd.DataFrame,
    dictionary: CompetencyDictionary,
    *,
    high_performer_grade: int = 4,
    n_bootstrap: int = 200,
    min_employees: int = 100,
    min_stability: float = 0.7,
    pinned_weights: dict | None = None,
    seed: int = 7,
    progress: bool = False,
) -> CompetencyModel:
    """Estimate per-role competency weights from EHR data (see module docstring)."""
    for name, frame, cols in (
        ("employees", employees, ("employee_id", "role_id", "performance_score", "performance_grade")),
        ("employee_competencies", employee_competencies, ("employee_id", "competency_id", "rating")),
    ):
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise DataError(f"{name} lacks column(s) {missing}")
    if n_bootstrap < 20:
        raise ConfigurationError("n_bootstrap must be at least 20 for usable intervals")
    pins = _parse_pins(pinned_weights or {}, dictionary)
    params = {"high_performer_grade": high_performer_grade, "n_bootstrap": n_bootstrap, "min_employees": min_employees, "min_stability": min_stability, "pinned_weights": pinned_weights or {}, "seed": seed}
    wide = employee_competencies.pivot_table(index="employee_id", columns="competency_id", values="rating", aggfunc="mean")
    emp = employees.set_index("employee_id")
    est_rows, role_rows, notes = [], [], []
    roles = list(dictionary.roles.values())
    iterator = roles
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(roles, desc="competency model", unit="role")
    for role in iterator:
        rng = np.random.default_rng([seed, len(role.id), sum(map(ord, role.id))])
        comps = list(role.competency_ids)
        ids = emp.index[emp["role_id"] == role.id]
        sub = wide.reindex(index=ids, columns=comps).dropna()
        n = len(sub)
        y_raw = emp.loc[sub.index, "performance_score"].to_numpy(float)
        high = (emp.loc[sub.index, "performance_grade"].to_numpy(float) >= high_performer_grade)
        X_raw = sub.to_numpy(float)
        estimated = n >= min_employees and high.sum() >= 10 and (~high).sum() >= 10
        warning = ""
        if not estimated:
            warning = t("competency.equal_weights_warning", role=role.label(), n=n, min=min_employees)
            notes.append(warning)
        k = len(comps)
        effect = np.full(k, np.nan)
        eff_lo = eff_hi = coef = c_lo = c_hi = stab = np.full(k, np.nan)
        r2 = np.nan
        alpha = np.nan
        if n >= 4 and high.any() and (~high).any():
            effect = np.array([_cohens_d(X_raw[:, j], high) for j in range(k)])
        if estimated:
            X = _standardise(X_raw)
            y = (y_raw - y_raw.mean()) / y_raw.std()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                cv = LassoCV(positive=True, cv=5, random_state=seed, max_iter=20000, alphas=40).fit(X, y)
            # One-standard-error rule: the sparsest model within 1 SE of the best CV error — we want the drivers,
            # not the last bit of prediction.
            mse = cv.mse_path_.mean(axis=1)
            se = cv.mse_path_.std(axis=1) / np.sqrt(cv.mse_path_.shape[1])
            best = int(np.argmin(mse))
            alpha = float(cv.alphas_[np.where(mse <= mse[best] + se[best])[0].min()])
            coef = _lasso(X, y, alpha)
            r2 = float(1 - mse[best] / y.var())
            boot_coef = np.empty((n_bootstrap, k))
            boot_d = np.empty((n_bootstrap, k))
            for b in range(n_bootstrap):
                idx = rng.integers(0, n, n)
                Xb = _standardise(X_raw[idx])
                yb = y_raw[idx]
                boot_coef[b] = _lasso(Xb, (yb - yb.mean()) / yb.std(), alpha)
                boot_d[b] = [_cohens_d(X_raw[idx, j], high[idx]) for j in range(k)]
            c_lo, c_hi = np.percentile(boot_coef, [2.5, 97.5], axis=0)
            eff_lo, eff_hi = np.nanpercentile(boot_d, [2.5, 97.5], axis=0)
            stab = (boot_coef > 1e-8).mean(axis=0)
            kept = np.where(stab >= min_stability, coef, 0.0)  # unstable selections are noise, not drivers
            data_w = kept / kept.sum() if kept.sum() > 0 else np.full(k, 1 / k)
        else:
            data_w = np.full(k, 1 / k)
        pinned = pins[role.id]
        final = np.array([pinned.get(c, np.nan) for c in comps])
        free = np.isnan(final)
        rest = 1 - np.nansum(final)
        share = data_w[free]
        final[free] = rest * (share / share.sum() if share.sum() > 0 else np.full(free.sum(), 1 / max(free.sum(), 1)))
        for j, cid in enumerate(comps):
            est_rows.append(
                {
                    "role_id": role.id, "competency_id": cid, "dimension": dictionary.competencies[cid].dimension,
                    "effect_size": effect[j], "effect_ci_low": eff_lo[j], "effect_ci_high": eff_hi[j],
                    "coef": coef[j], "coef_ci_low": c_lo[j], "coef_ci_high": c_hi[j], "stability": stab[j],
                    "data_weight": data_w[j], "weight": final[j], "pinned": cid in pinned,
                }
            )
        role_rows.append({"role_id": role.id, "n": n, "n_high": int(high.sum()), "estimated": estimated, "alpha": alpha, "r2": r2, "warning": warning})
    data_hash = sha256_json(
        {
            "employees": pd.util.hash_pandas_object(employees.sort_values("employee_id"), index=False).sum().item(),
            "ratings": pd.util.hash_pandas_object(employee_competencies.sort_values(["employee_id", "competency_id"]), index=False).sum().item(),
        }
    )
    return CompetencyModel(
        dictionary=dictionary, estimates=pd.DataFrame(est_rows), roles=pd.DataFrame(role_rows), params=params, data_hash=data_hash, warnings=notes
    )


def load_competency_model(path: str | Path) -> dict:
    """Read a ``competency_model.json`` (any stage, or a vendor benchmark) and check its schema."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"competency model not found: {path}")
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("schema_version") != MODEL_SCHEMA_VERSION or "roles" not in data:
        raise DataError(f"{path} is not a competency_model.json of schema version {MODEL_SCHEMA_VERSION}")
    return data
