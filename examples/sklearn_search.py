"""Tune a scikit-learn pipeline with HonedSearchCV, stopping poor settings between folds.

Run: ``python examples/sklearn_search.py`` (needs ``pip install honed[sklearn]``).

``param_distributions`` mixes what scikit-learn users write (scipy.stats distributions, lists,
estimators in a list) with a honed range; the median rule stops a setting whose running mean
after a fold is below the median of the finished ones.
"""

from __future__ import annotations

from scipy.stats import loguniform
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from sklearn.svm import SVC

import honed
from honed.integrations.sklearn import HonedSearchCV


def main() -> None:
    x, y = load_breast_cancer(return_X_y=True)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.25, random_state=0)
    pipe = Pipeline([("scale", StandardScaler()), ("clf", SVC())])
    space = [
        {  # an RBF SVM ...
            "scale": [StandardScaler(), MinMaxScaler()],
            "clf": [SVC()],
            "clf__C": loguniform(1e-2, 1e3),
            "clf__gamma": honed.Float(1e-4, 1.0, log=True),
        },
        {  # ... or a logistic regression
            "clf": [LogisticRegression(max_iter=1000)],
            "clf__C": loguniform(1e-3, 1e2),
        },
    ]
    search = HonedSearchCV(
        pipe,
        space,
        n_trials=30,
        cv=5,
        scoring=["accuracy", "roc_auc"],
        refit="roc_auc",
        scheduler=honed.schedulers.MedianStopping(min_trials=5),
        random_state=0,
    )
    search.fit(x_tr, y_tr)
    print(f"best ROC AUC (CV): {search.best_score_:.4f}")
    print(f"best setting: {search.best_params_}")
    print(f"held-out ROC AUC: {search.score(x_te, y_te):.4f}")
    states = [t.state.name for t in search.study_.trials]
    print(f"trials: {states.count('COMPLETE')} complete, {states.count('PRUNED')} stopped early")


if __name__ == "__main__":
    main()
