"""After the sweep: model soups, confirmation of the winner on fresh seeds, and a report.

Built on honed's public study API only (an import contract checks it):

* :func:`soup` averages the weights trials saved (greedy or uniform soups of the best trials,
  or the last checkpoints of one trial) and keeps the soup with the study;
* :func:`confirm` re-runs the best configurations on seeds tuning never used and says which
  is best on average, with a 95% interval; :func:`likely_best` estimates it from the GP's
  noise-free posterior without re-runs;
* :func:`report` writes what a study found as one self-contained HTML or Markdown file
  (``honed report STUDY``).
"""

from honed.recipes._confirm import Confirmation, ConfirmedConfig, confirm, load_confirmation
from honed.recipes._likely import LikelyBest, likely_best
from honed.recipes._soup import Soup, SoupStep, load_soup, soup
from honed.recipes._states import average_states

__all__ = [
    "Confirmation",
    "ConfirmedConfig",
    "LikelyBest",
    "Soup",
    "SoupStep",
    "average_states",
    "confirm",
    "likely_best",
    "load_confirmation",
    "load_soup",
    "soup",
]
