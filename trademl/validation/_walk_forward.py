"""Walk-forward: train on the past only, test on the next block, roll forward."""

from __future__ import annotations

from collections.abc import Iterator

from trademl.validation._base import Block, PurgedSplitter, _non_negative_int, _positive_int

__all__ = ["WalkForward"]


class WalkForward(PurgedSplitter):
    """Successive test blocks at the end of the data, each trained on what precedes it.

    Parameters
    ----------
    n_splits : number of test blocks.
    test_size : samples per test block (default ``n_samples // (n_splits + 1)``).
    step : samples between test block starts (default ``test_size``: each tested once).
    gap : samples dropped between train and test on top of purging.
    window : ``"expanding"`` trains on everything before; ``"sliding"`` keeps a fixed
        window of ``max_train_size`` (default: the first fold's train size).
    max_train_size : cap on the training window (the most recent samples are kept).
    horizon, label_end : label spans; training samples whose labels reach into the test
        block are purged. ``embargo`` is accepted for a uniform interface but has no effect:
        nothing after a test block is ever trained on.
    """

    def __init__(
        self,
        n_splits=5,
        *,
        test_size=None,
        step=None,
        gap=0,
        window="expanding",
        max_train_size=None,
        horizon=None,
        label_end=None,
        embargo=0,
    ):
        self.n_splits = n_splits
        self.test_size = test_size
        self.step = step
        self.gap = gap
        self.window = window
        self.max_train_size = max_train_size
        self.horizon = horizon
        self.label_end = label_end
        self.embargo = embargo

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        return self.n_splits

    def _iter_blocks(self, n_samples: int) -> Iterator[tuple[list[Block], list[Block]]]:
        k = _positive_int(self.n_splits, "n_splits")
        if self.window not in ("expanding", "sliding"):
            raise ValueError(f"window must be 'expanding' or 'sliding', but got {self.window=}")
        test_size = (
            n_samples // (k + 1)
            if self.test_size is None
            else _positive_int(self.test_size, "test_size")
        )
        step = test_size if self.step is None else _positive_int(self.step, "step")
        gap = _non_negative_int(self.gap, "gap")
        if test_size < 1:
            raise ValueError(f"{n_samples} samples are too few for n_splits={k}")
        first_test = n_samples - test_size - (k - 1) * step
        first_train_end = first_test - gap
        if first_train_end < 1:
            raise ValueError(
                f"no training data left for the first fold: n_samples={n_samples}, "
                f"n_splits={k}, test_size={test_size}, step={step}, gap={gap}"
            )
        cap = self.max_train_size
        if cap is not None:
            cap = _positive_int(cap, "max_train_size")
        elif self.window == "sliding":
            cap = first_train_end
        for i in range(k):
            test_start = first_test + i * step
            train_end = test_start - gap
            train_start = 0 if cap is None else max(0, train_end - cap)
            yield [(train_start, train_end)], [(test_start, test_start + test_size)]
