"""scikit-learn: :class:`HonedSearchCV`, a drop-in for ``RandomizedSearchCV`` driven by a study.

Each trial samples one parameter setting, fits and scores it fold by fold, and reports the
running mean test score after each fold, so the study's scheduler can stop a poor setting
after a fold or two instead of fitting every fold. Everything else is the ``BaseSearchCV``
contract: ``best_estimator_``, ``best_params_``, ``best_score_``, ``cv_results_`` with
``RandomizedSearchCV``'s keys, ``refit`` by name or callable, multi-metric scoring,
``predict``/``score`` delegation, ``clone``, use inside ``Pipeline`` and ``cross_validate``.
"""

from __future__ import annotations

import math
import numbers
import time
import traceback
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from numpy.ma import MaskedArray
from scipy.stats import rankdata
from sklearn.base import clone, is_classifier
from sklearn.exceptions import FitFailedWarning
from sklearn.model_selection import check_cv, cross_validate
from sklearn.model_selection._search import BaseSearchCV
from sklearn.utils import check_random_state, indexable
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

import honed
from honed.space import Choice, Distribution, Float, Int, load_space

__all__ = ["HonedSearchCV"]

#: User attribute holding a trial's per-fold results (what ``cv_results_`` is built from).
FOLDS_ATTR = "sklearn_cv"
#: The parameter that picks one dict of a list of ``param_distributions`` dicts.
PARAM_SET = "param_set"


class HonedSearchCV(BaseSearchCV):
    """Search hyperparameters with a honed study and cross-validation.

    A drop-in for :class:`sklearn.model_selection.RandomizedSearchCV` (``n_iter`` is
    ``n_trials``): the study's sampler proposes each setting from the results so far, and its
    ``scheduler`` may stop a setting after any fold (each trial reports its running mean test
    score at step ``folds done``).

    Args:
        estimator: The estimator (or ``Pipeline``) to tune; cloned for every fit.
        param_distributions: A dict from parameter name (``"clf__C"`` in a pipeline) to a
            ``honed.Float/Int/Choice``, a ``scipy.stats`` distribution (``uniform``,
            ``loguniform`` and ``randint`` become ranges; any other is searched through its
            quantiles: honed parameter ``"<name>:quantile"`` in ``[0, 1]``, the estimator gets
            ``dist.ppf(q)``) or a list of values (any objects, estimators included). A list of
            such dicts is a choice between them (honed parameter ``"param_set"``).
        n_trials: Settings to try (``RandomizedSearchCV``'s ``n_iter``); ``None`` with a
            ``timeout`` to search until the time is up.
        cv: Folds: an int, a splitter or an iterable of ``(train, test)`` (as in scikit-learn).
            The splits are made once, so every trial is scored on the same folds.
        scoring: As in scikit-learn: ``None`` (the estimator's ``score``), a name, a callable,
            or a list/dict of them for several metrics. The study maximizes the mean test
            score of ``refit``'s metric (the first metric when ``refit`` is not a name).
        refit: Refit the best setting on all data (``True``, a metric name with several
            metrics, a callable picking the best index from ``cv_results_``, or ``False``).
        n_jobs: Trials run at once, each in a worker process (``None`` or 1: in this process;
            -1: one per CPU).
        storage: Where the study lives (``None``: in memory; ``"sqlite:///search.db"``).
        study_name: The study's name; an existing study of that name in ``storage`` is
            continued (its trials count in ``cv_results_``). ``None``: a fresh random name.
        sampler: A :class:`honed.samplers.Sampler` or a name; ``None``: honed's default.
        scheduler: Early stopping between folds (``honed.schedulers.MedianStopping()``, ...).
        timeout: Stop starting trials after this many seconds.
        error_score: Score of a fold whose fit fails (``"raise"`` to raise); a setting with a
            NaN score is recorded as a failed trial and ranked last. Failed fits are warned
            about after the search (``FitFailedWarning``); when every fit failed, ``fit``
            raises, as scikit-learn's searches do.
        return_train_score: Also score the training folds.
        random_state: Seeds the sampler when it is given by name or left to the default.
        verbose: ``> 0`` shows a progress bar (on a terminal or in Jupyter).

    Attributes:
        study_: The :class:`honed.Study` (dropped when the search is pickled; reload it with
            ``honed.load_study(search.study_name_, storage)``).
        study_name_: The study's name.
        cv_results_, best_index_, best_score_, best_params_, best_estimator_, refit_time_,
        scorer_, n_splits_, multimetric_: As in ``RandomizedSearchCV``. ``cv_results_`` has a
            row per trial of the study that scored a fold, in trial order; a pruned trial's
            folds not run are NaN and its mean test score is NaN, so it ranks last.
    """

    _parameter_constraints: ClassVar[dict[str, Any]] = {
        **{k: v for k, v in BaseSearchCV._parameter_constraints.items() if k != "pre_dispatch"},
        "param_distributions": [dict, list],
        "n_trials": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "storage": "no_validation",
        "study_name": [str, None],
        "sampler": [HasMethods(["sample_independent"]), str, None],
        "scheduler": [HasMethods(["on_report"]), str, None],
        "timeout": [Interval(numbers.Real, 0, None, closed="neither"), None],
        "random_state": ["random_state"],
        "error_score": [StrOptions({"raise"}), numbers.Real],
    }

    def __init__(
        self,
        estimator: Any,
        param_distributions: Mapping[str, Any] | Sequence[Mapping[str, Any]],
        *,
        n_trials: int | None = 10,
        cv: Any = None,
        scoring: Any = None,
        refit: Any = True,
        n_jobs: int | None = None,
        storage: Any = None,
        study_name: str | None = None,
        sampler: Any = None,
        scheduler: Any = None,
        timeout: float | None = None,
        error_score: Any = np.nan,
        return_train_score: bool = False,
        random_state: Any = None,
        verbose: int = 0,
    ) -> None:
        self.estimator = estimator
        self.param_distributions = param_distributions
        self.n_trials = n_trials
        self.cv = cv
        self.scoring = scoring
        self.refit = refit
        self.n_jobs = n_jobs
        self.storage = storage
        self.study_name = study_name
        self.sampler = sampler
        self.scheduler = scheduler
        self.timeout = timeout
        self.error_score = error_score
        self.return_train_score = return_train_score
        self.random_state = random_state
        self.verbose = verbose

    def __getstate__(self) -> dict[str, Any]:
        # The live study holds a storage connection; the results are in cv_results_.
        state = super().__getstate__()
        state.pop("study_", None)
        return state

    def _run_search(self, evaluate_candidates: Any, *, callback_ctx: Any = None) -> None:
        raise NotImplementedError("HonedSearchCV runs its own search in fit().")

    def fit(self, X: Any, y: Any = None, **params: Any) -> HonedSearchCV:  # noqa: N803
        """Run the search, then refit the best setting on all of ``X, y``.

        ``params`` go to the estimator's ``fit`` (sample-aligned arrays such as
        ``sample_weight`` are split with the folds); ``groups`` goes to the splitter.
        """
        self._validate_params()
        if self.n_trials is None and self.timeout is None:
            raise ValueError(
                "HonedSearchCV needs n_trials or timeout (or both); got n_trials=None and "
                "timeout=None, which would search forever."
            )
        space = _SklearnSpace.build(self.param_distributions)
        scorers, refit_metric = self._get_scorers()
        x, y = indexable(X, y)
        params = dict(params)
        groups = params.pop("groups", None)
        cv = check_cv(self.cv, y, classifier=is_classifier(self.estimator))
        splits = [(np.asarray(tr), np.asarray(te)) for tr, te in cv.split(x, y, groups)]
        if not splits:
            raise ValueError("the cv splitter gave no (train, test) split.")
        self.n_splits_ = len(splits)

        study = honed.create_study(
            self.study_name,
            self.storage,
            direction="maximize",
            sampler=self.sampler,
            scheduler=self.scheduler,
            seed=_seed(self.random_state),
            load_if_exists=self.study_name is not None,
        )
        objective = _CVObjective(
            space=space,
            estimator=self.estimator,
            x=x,
            y=y,
            splits=splits,
            scoring=scorers,
            target=refit_metric if isinstance(refit_metric, str) else None,
            fit_params=params,
            error_score=self.error_score,
            return_train_score=self.return_train_score,
        )
        n_jobs = self.n_jobs if self.n_jobs is not None else 1
        study.optimize(
            objective,
            n_trials=self.n_trials,
            timeout=self.timeout,
            n_jobs=n_jobs,
            catch=(_FoldsFailedError,),
            show_progress=self.verbose > 0,
            executor="inline" if n_jobs == 1 else "process",
        )
        self.study_ = study
        self.study_name_ = study.name

        results, metric_names = _cv_results(study, space, self.n_splits_, self.return_train_score)
        if not results["params"]:
            raise ValueError(
                f"no trial of study {study.name!r} scored a fold; see study_.trials for why."
            )
        _check_failures(study)
        self.multimetric_ = metric_names != ["score"]
        if self.multimetric_:
            self._check_refit_for_multimetric(metric_names)
            refit_metric = self.refit
        else:
            refit_metric = "score"
        if self.refit or not self.multimetric_:
            self.best_index_ = int(self._select_best_index(self.refit, refit_metric, results))
            if not callable(self.refit):
                self.best_score_ = float(results[f"mean_test_{refit_metric}"][self.best_index_])
            self.best_params_ = results["params"][self.best_index_]
        if self.refit:
            best = clone(self.estimator).set_params(**clone(self.best_params_, safe=False))
            start = time.perf_counter()
            if y is None:
                best.fit(x, **params)
            else:
                best.fit(x, y, **params)
            self.refit_time_ = time.perf_counter() - start
            self.best_estimator_ = best
            if hasattr(best, "feature_names_in_"):
                self.feature_names_in_ = best.feature_names_in_
        self.scorer_ = getattr(scorers, "_scorers", scorers)
        self.cv_results_ = results
        return self


class _FoldsFailedError(Exception):
    """A setting whose mean test score is not a number (a fit failed with
    ``error_score=np.nan``): its trial is recorded as failed."""


def _seed(random_state: Any) -> int | None:
    if random_state is None:
        return None
    if isinstance(random_state, numbers.Integral):
        return int(random_state)
    return int(check_random_state(random_state).randint(2**31 - 1))


# ---- parameter distributions -----------------------------------------------------------------
@dataclass(frozen=True)
class _Param:
    """One scikit-learn parameter: the honed parameter it is sampled as, and how a sampled
    value becomes the estimator's value."""

    name: str
    honed_name: str
    distribution: Distribution
    objects: tuple[Any, ...] | None = None  # the values behind a Choice's labels
    ppf: Any = None  # a scipy distribution searched through its quantiles
    integer: bool = False

    def decode(self, value: Any) -> Any:
        if self.objects is not None:
            assert isinstance(self.distribution, Choice)
            return self.objects[self.distribution.index(value)]
        if self.ppf is not None:
            x = float(self.ppf(min(max(float(value), 1e-12), 1.0 - 1e-12)))
            return int(round(x)) if self.integer else x
        return value


@dataclass(frozen=True)
class _Branch:
    """The parameters of one dict of ``param_distributions``; honed trees (a ``Choice`` with
    ``branches``) are walked as the trial takes them."""

    params: tuple[_Param, ...]
    tree: Mapping[str, Distribution]  # the honed-native entries, possibly tree-shaped


@dataclass(frozen=True)
class _SklearnSpace:
    branches: tuple[_Branch, ...]

    @classmethod
    def build(cls, param_distributions: Any) -> _SklearnSpace:
        if isinstance(param_distributions, Mapping):
            dicts = [param_distributions]
            multi = False
        elif isinstance(param_distributions, Sequence) and not isinstance(param_distributions, str):
            dicts = list(param_distributions)
            multi = True
            if not dicts:
                raise ValueError("param_distributions is an empty list; give at least one dict.")
        else:
            raise TypeError(
                "param_distributions must be a dict (or a list of dicts) from parameter names "
                f"to distributions or lists, got {type(param_distributions).__name__}."
            )
        converted: list[list[_Param]] = []
        trees: list[dict[str, Distribution]] = []
        for i, d in enumerate(dicts):
            if not isinstance(d, Mapping):
                raise TypeError(f"param_distributions[{i}] must be a dict, got {type(d).__name__}.")
            native = {k: v for k, v in d.items() if _is_honed(v)}
            tree = load_space(native) if native else {}
            converted.append([_convert(name, v) for name, v in d.items() if name not in native])
            trees.append(tree)
        if multi:
            # A name sampled from different ranges in different dicts gets one honed
            # parameter per dict ("C@1"), so no trial mixes two definitions of it.
            seen: dict[str, set[Distribution]] = {}
            for params in converted:
                for p in params:
                    seen.setdefault(p.honed_name, set()).add(p.distribution)
            for i, params in enumerate(converted):
                converted[i] = [
                    p
                    if len(seen[p.honed_name]) == 1
                    else _Param(
                        p.name, f"{p.honed_name}@{i}", p.distribution, p.objects, p.ppf, p.integer
                    )
                    for p in params
                ]
            names = {p.honed_name for params in converted for p in params}
            names |= {n for tree in trees for n in _tree_names(tree)}
            if PARAM_SET in names:
                raise ValueError(
                    f"a parameter named {PARAM_SET!r} clashes with the choice between the "
                    "dicts of param_distributions; rename it."
                )
        return cls(
            tuple(
                _Branch(tuple(params), tree) for params, tree in zip(converted, trees, strict=True)
            )
        )

    def sample(self, trial: Any) -> dict[str, Any]:
        """The estimator's parameters for ``trial`` (sampling them on the trial)."""
        i = 0
        if len(self.branches) > 1:
            i = trial.choice(PARAM_SET, list(range(len(self.branches))))
        return self.decode(trial, i)

    def decode(self, trial: Any, i: int) -> dict[str, Any]:
        branch = self.branches[i]
        out: dict[str, Any] = {}
        _walk(trial, branch.tree, out)
        for p in branch.params:
            out[p.name] = p.decode(trial.suggest(p.honed_name, p.distribution))
        return dict(sorted(out.items()))  # by name, as scikit-learn's samplers give them

    def from_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The estimator's parameters of a finished trial (its honed ``params``)."""
        i = int(params.get(PARAM_SET, 0)) if len(self.branches) > 1 else 0
        return self.decode(_Replay(params), i)


class _Replay:
    """Reads a finished trial's values where :meth:`_SklearnSpace.decode` samples them."""

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.params = params

    def suggest(self, name: str, distribution: Distribution) -> Any:
        return self.params[name]


def _is_honed(v: Any) -> bool:
    return isinstance(v, Distribution) or (isinstance(v, Mapping) and "type" in v)


def _tree_names(tree: Mapping[str, Distribution]) -> set[str]:
    names = set(tree)
    for dist in tree.values():
        if isinstance(dist, Choice) and dist.branches:
            for sub in dist.branches.values():
                names |= _tree_names(sub)
    return names


def _walk(trial: Any, tree: Mapping[str, Distribution], out: dict[str, Any]) -> None:
    for name, dist in tree.items():
        plain = Choice(dist.choices) if isinstance(dist, Choice) and dist.branches else dist
        if not isinstance(trial, _Replay) or name in trial.params:
            value = trial.suggest(name, plain)
        else:
            continue
        out[name] = value
        if isinstance(dist, Choice) and dist.branches and dist.branches.get(value):
            _walk(trial, dist.branches[value], out)


_PLAIN = (str, int, float, bool, type(None))


def _convert(name: str, spec: Any) -> _Param:
    """A scikit-learn style entry (a list of values or a ``scipy.stats`` distribution)."""
    if hasattr(spec, "rvs"):
        return _from_scipy(name, spec)
    if isinstance(spec, str | bytes) or not isinstance(spec, Sequence | np.ndarray):
        raise TypeError(
            f"parameter {name!r}: expected a list of values, a scipy.stats distribution or a "
            f"honed.Float/Int/Choice, got {spec!r}."
        )
    values = list(spec)
    if not values:
        raise ValueError(f"parameter {name!r}: the list of values is empty.")
    if all(_plain_distinct(values)):
        return _Param(name, name, Choice([_py(v) for v in values]))
    # Objects (estimators, tuples, ...) are searched as labels and mapped back.
    labels: list[Any] = []
    for v in values:
        label: Any = _py(v) if isinstance(v, (*_PLAIN, np.generic)) else _label(v)
        while label in labels:
            label = f"{label} #{len(labels)}"
        labels.append(label)
    return _Param(name, name, Choice(labels), objects=tuple(values))


def _py(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def _plain_distinct(values: list[Any]) -> list[bool]:
    keys = []
    ok = []
    for v in values:
        v = _py(v)
        good = isinstance(v, _PLAIN) and not (isinstance(v, float) and not math.isfinite(v))
        key = (type(v).__name__, v) if good else None
        ok.append(good and key not in keys)
        keys.append(key)
    return ok


def _label(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 80 else text[:77] + "..."


def _from_scipy(name: str, dist: Any) -> _Param:
    family = getattr(getattr(dist, "dist", None), "name", None)
    kwds = getattr(dist, "kwds", {}) or {}
    plain = kwds.get("loc", 0) == 0 and kwds.get("scale", 1) == 1
    try:
        low, high = (float(b) for b in dist.support())
    except Exception:  # not a frozen scipy distribution
        low, high = -math.inf, math.inf
    if family == "uniform" and math.isfinite(low) and math.isfinite(high):
        return _Param(name, name, Float(low, high))
    if family in ("loguniform", "reciprocal") and plain and 0 < low < high < math.inf:
        return _Param(name, name, Float(low, high, log=True))
    if family == "randint" and math.isfinite(low) and math.isfinite(high):
        return _Param(name, name, Int(int(low), int(high)))
    if not callable(getattr(dist, "ppf", None)):
        raise TypeError(
            f"parameter {name!r}: {dist!r} has rvs but no ppf (quantile function), so it "
            "cannot be searched; give a scipy.stats distribution or a honed.Float/Int/Choice."
        )
    integer = hasattr(getattr(dist, "dist", None), "pmf")  # rv_discrete
    return _Param(name, f"{name}:quantile", Float(0.0, 1.0), ppf=dist.ppf, integer=integer)


# ---- one trial: the folds --------------------------------------------------------------------
class _CVObjective:
    """Fit and score one setting fold by fold, reporting the running mean test score."""

    def __init__(
        self,
        *,
        space: _SklearnSpace,
        estimator: Any,
        x: Any,
        y: Any,
        splits: list[tuple[np.ndarray, np.ndarray]],
        scoring: Any,
        target: str | None,
        fit_params: dict[str, Any],
        error_score: Any,
        return_train_score: bool,
    ) -> None:
        self.space = space
        self.estimator = estimator
        self.x = x
        self.y = y
        self.splits = splits
        self.scoring = scoring
        self.target = target
        self.fit_params = fit_params
        self.error_score = error_score
        self.return_train_score = return_train_score
        # the metric names, where known before the first score (a callable may return a dict)
        inner = getattr(scoring, "_scorers", None)
        self.metric_names = list(inner) if isinstance(inner, Mapping) else [target or "score"]

    def __call__(self, trial: honed.Trial) -> float:
        params = self.space.sample(trial)
        est = clone(self.estimator).set_params(**clone(params, safe=False))
        record: dict[str, Any] = {"test": {}, "train": {}, "fit_time": [], "score_time": []}
        try:
            for k, split in enumerate(self.splits):
                self._fold(est, split, record)
                tests = record["test"]
                metric = self.target if self.target in tests else next(iter(tests))
                running = float(np.mean(tests[metric]))
                trial.report(running, k + 1)
        finally:
            # JSON has no NaN: a failed fold's score is stored as None.
            trial.set_user_attr(FOLDS_ATTR, _json_safe(record))
        if not math.isfinite(running):
            raise _FoldsFailedError(
                f"mean test {metric} is {running}: a fit or score failed and error_score is "
                f"NaN ({record['errors'][-1] if record.get('errors') else 'no error recorded'})."
            )
        return running

    def _fold(self, est: Any, split: tuple[np.ndarray, np.ndarray], record: dict[str, Any]) -> None:
        """Fit and score one fold (with cross_validate on that split alone, so scoring,
        fit parameters and metadata routing are scikit-learn's own)."""
        start = time.perf_counter()
        try:
            res = cross_validate(
                est,
                self.x,
                self.y,
                cv=[split],
                scoring=self.scoring,
                params=self.fit_params,
                error_score=self.error_score,
                return_train_score=self.return_train_score,
            )
        except Exception as e:
            # A failed fit: cross_validate raises when the only fit of its one split failed
            # (a failed score it reports as error_score, warning, as a search does).
            if self.error_score == "raise":
                raise
            # As scikit-learn's searches do: the fold scores error_score, the search goes on.
            record["fit_time"].append(time.perf_counter() - start)
            record["score_time"].append(0.0)
            text = "".join(traceback.format_exception_only(e)).strip()
            record.setdefault("errors", []).append(text[-4000:])
            parts = ("test", "train") if self.return_train_score else ("test",)
            names = list(record["test"]) or self.metric_names
            for part in parts:
                for metric in names:
                    record[part].setdefault(metric, []).append(float(self.error_score))
            return
        record["fit_time"].append(float(res["fit_time"][0]))
        record["score_time"].append(float(res["score_time"][0]))
        for key, values in res.items():
            for part in ("test", "train"):
                if key.startswith(part + "_"):
                    record[part].setdefault(key[len(part) + 1 :], []).append(float(values[0]))


def _json_safe(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _json_safe(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_json_safe(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def _check_failures(study: honed.Study) -> None:
    """As scikit-learn's searches do: raise when every fit failed, warn when some did."""
    records = [t.user_attrs.get(FOLDS_ATTR) or {} for t in study.trials]
    errors = [e for rec in records for e in rec.get("errors", [])]
    if not errors:
        return
    n_fits = sum(len(rec.get("fit_time", [])) for rec in records)
    if len(errors) >= n_fits:
        raise ValueError(
            f"all {n_fits} fits failed; the first failure:\n{errors[0]}\nCheck the "
            "estimator and param_distributions (error_score='raise' raises at once)."
        )
    warnings.warn(
        f"{len(errors)} of {n_fits} fits failed and scored error_score; the first failure:\n"
        f"{errors[0]}",
        FitFailedWarning,
        stacklevel=3,
    )


# ---- cv_results_ -----------------------------------------------------------------------------
def _cv_results(
    study: honed.Study, space: _SklearnSpace, n_splits: int, return_train_score: bool
) -> tuple[dict[str, Any], list[str]]:
    """``cv_results_`` (the keys, dtypes and order of ``RandomizedSearchCV``'s) from every
    trial of ``study`` that scored a fold with ``n_splits`` folds; and the metric names."""
    rows = []
    for t in study.trials:
        rec = t.user_attrs.get(FOLDS_ATTR)
        if not rec or not rec.get("test") or t.state is honed.TrialState.RUNNING:
            continue
        if len(rec["fit_time"]) > n_splits:
            continue  # a study continued with another cv
        rows.append((t, rec))
    names: list[str] = []
    for _, rec in rows:
        names += [m for m in rec["test"] if m not in names]
    n = len(rows)

    def grid(values: list[list[float]]) -> np.ndarray:
        a = np.full((n, n_splits), np.nan)
        for i, v in enumerate(values):
            a[i, : len(v)] = [np.nan if x is None else x for x in v]
        return a

    results: dict[str, Any] = {}
    for key in ("fit_time", "score_time"):
        a = grid([rec[key] for _, rec in rows])
        with np.errstate(invalid="ignore"):
            results[f"mean_{key}"] = _nanmean(a)
            results[f"std_{key}"] = _nanstd(a)
    candidates = [space.from_params(t.params) for t, _ in rows]
    for key, masked in _param_arrays(candidates):
        results[key] = masked
    results["params"] = candidates
    for metric in names:
        for part in ("test", "train") if return_train_score else ("test",):
            a = grid([rec[part].get(metric, []) for _, rec in rows])
            for k in range(n_splits):
                results[f"split{k}_{part}_{metric}"] = a[:, k]
            mean = a.mean(axis=1)
            results[f"mean_{part}_{metric}"] = mean
            results[f"std_{part}_{metric}"] = np.sqrt(((a - mean[:, None]) ** 2).mean(axis=1))
            if part == "test":
                results[f"rank_test_{metric}"] = _rank(mean)
    return results, names


def _nanmean(a: np.ndarray) -> np.ndarray:
    ok = ~np.isnan(a)
    count = ok.sum(axis=1)
    total = np.where(ok, a, 0.0).sum(axis=1)
    return np.divide(total, count, out=np.full(len(a), np.nan), where=count > 0)


def _nanstd(a: np.ndarray) -> np.ndarray:
    mean = _nanmean(a)
    ok = ~np.isnan(a)
    sq = np.where(ok, (a - mean[:, None]) ** 2, 0.0)
    count = ok.sum(axis=1)
    return np.sqrt(np.divide(sq.sum(axis=1), count, out=np.full(len(a), np.nan), where=count > 0))


def _rank(mean: np.ndarray) -> np.ndarray:
    """1 for the best mean; NaN means (failed or pruned) tie after every finite one."""
    if len(mean) == 0 or np.isnan(mean).all():
        return np.ones(len(mean), dtype=np.int32)
    filled = np.where(np.isnan(mean), np.nanmin(mean) - 1.0, mean)
    return rankdata(-filled, method="min").astype(np.int32)


def _param_arrays(candidates: list[dict[str, Any]]) -> list[tuple[str, MaskedArray]]:
    """``param_<name>``: a masked array per parameter (masked where a candidate lacks it),
    with the values' own dtype when numpy infers a 1-D non-string one, else object."""
    columns: dict[str, dict[int, Any]] = {}
    for i, params in enumerate(candidates):
        for name, value in params.items():
            columns.setdefault(f"param_{name}", {})[i] = value
    out = []
    for key, col in columns.items():
        try:
            inferred = np.array(list(col.values()))
            dtype = inferred.dtype if inferred.dtype.kind != "U" and inferred.ndim == 1 else None
        except ValueError:
            dtype = None
        masked = MaskedArray(np.empty(len(candidates), dtype=dtype or object), mask=True)
        for i, value in col.items():
            masked[i] = value
        out.append((key, masked))
    return out
