"""Sample weights by average label uniqueness (López de Prado, AFML 4.4)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trademl.labels._base import Labels

__all__ = ["uniqueness_weights"]


def uniqueness_weights(labels: Labels, *, normalize: bool = True) -> pd.Series:
    """Average uniqueness of each known label; overlapping labels share their bars.

    Label i reads the returns of bars t_i+1 .. end_i. At each bar the concurrency c is
    the number of labels reading it; the uniqueness of label i is the mean of 1/c over
    its bars. Heavily overlapping labels (long horizons) carry less independent
    information, so they get smaller weights. ``normalize`` scales the weights to mean 1.
    Rows with unknown labels are left out of the result.
    """
    index = labels.values.index
    known = labels.known.to_numpy()
    start = np.flatnonzero(known)
    end = index.get_indexer(pd.DatetimeIndex(labels.end.to_numpy()[known]))
    if (end < 0).any():
        raise ValueError("labels.end holds timestamps that are not in the label index")
    first = start + 1  # a label reads bars after its own
    n = len(index)
    change = np.zeros(n + 1, dtype=np.int64)
    np.add.at(change, first, 1)
    np.add.at(change, end + 1, -1)
    concurrency = np.cumsum(change[:n])
    inverse = np.where(concurrency > 0, 1.0 / np.maximum(concurrency, 1), 0.0)
    prefix = np.concatenate([[0.0], np.cumsum(inverse)])
    weights = (prefix[end + 1] - prefix[first]) / (end - first + 1)
    if normalize and len(weights):
        weights = weights / weights.mean()
    return pd.Series(weights, index=index[known], name="weight")
