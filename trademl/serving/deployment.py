"""What the service serves: the champion (and a challenger), their online state, hot swaps.

A :class:`ModelSlot` is one loaded, verified model package with its own online feature
state. A :class:`Routing` is an immutable snapshot (champion, challenger, traffic split);
each request reads the current snapshot once and finishes on it, so a swap never changes
the model under a request. A swap loads and warms the new package *beside* the old one
(the old keeps answering), catches it up on bars that arrived meanwhile, then replaces the
snapshot in one assignment under the stream lock.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from trademl.errors import DataError, TradeMLError
from trademl.serving.history import BarRejected, NewBar, SymbolHistory, check_bars
from trademl.serving.predictor import settle_heap
from trademl.serving.traffic import TrafficSplit

__all__ = ["Deployment", "ModelSlot", "Routing", "load_slot", "resolve_reference"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelSlot:
    """A loaded package and its predictor; ``reference`` is what the user asked for."""

    reference: str
    name: str
    version: str
    package: Any  # trademl.package.ModelPackage
    predictor: Any  # trademl.serving.online.Predictor
    loaded_at: float = field(default_factory=time.time)

    @property
    def label(self) -> str:
        return f"{self.name}/{self.version}"

    def knows(self, symbol: str) -> bool:
        return symbol in self.package.symbols


@dataclass(frozen=True)
class Routing:
    champion: ModelSlot
    challenger: ModelSlot | None = None
    split: TrafficSplit = TrafficSplit()

    @property
    def slots(self) -> list[ModelSlot]:
        return [s for s in (self.champion, self.challenger) if s is not None]

    def answering(self, key: str) -> ModelSlot:
        if self.challenger is not None and self.split.to_challenger(key):
            return self.challenger
        return self.champion

    def shadowing(self, answering: ModelSlot) -> ModelSlot | None:
        """The model that predicts beside the answering one without answering (shadow mode)."""
        if self.split.mode == "shadow" and self.challenger is not None:
            return self.challenger if answering is self.champion else None
        return None


def resolve_reference(reference: str) -> tuple[str, str]:
    """``NAME@ALIAS``/``NAME/VERSION``/``runs:/ID`` -> (name, version) as the registry has it now."""
    from trademl.package import parse_model_uri
    from trademl.tracking.integrity import resolve_version

    ref = parse_model_uri(reference)
    if ref.run_id:
        return "", ref.run_id
    return ref.name, str(resolve_version(ref.name, alias=ref.alias, version=ref.version))


def load_slot(
    reference: str,
    *,
    tracking_uri: str | None = None,
    allow_unservable: bool = False,
    all_features: bool = False,
) -> ModelSlot:
    """Load (and verify) the package ``reference`` points at now, with a fresh predictor."""
    from trademl.package import load_model

    name, version = resolve_reference(reference)
    # load the resolved version, not the alias: the alias may move between the two calls
    uri = f"runs:/{version}" if not name else f"{name}/{version}"
    package = load_model(uri, tracking_uri=tracking_uri)
    from trademl.serving.predictor import Predictor

    # refuses (UnservableFeatures, naming them) a model whose features cannot be served
    predictor = Predictor(package, allow_unservable=allow_unservable, all_features=all_features)
    return ModelSlot(
        reference=reference,
        name=name or package.name,
        version=version,
        package=package,
        predictor=predictor,
    )


@dataclass
class BarsResult:
    symbol: str
    slot: ModelSlot
    predictions: list[dict]  # one per accepted bar, oldest first
    shadow: tuple[ModelSlot, list[dict]] | None
    seconds: float


class Deployment:
    """The served models, the bar history they share and the swaps between them."""

    def __init__(
        self,
        *,
        histories: Mapping[str, SymbolHistory],
        step_ns: int,
        loader: Callable[[str], ModelSlot],
        on_feature_error: Callable[[ModelSlot, str, Exception], None] | None = None,
    ):
        self.histories = dict(histories)
        self.step_ns = step_ns
        self.loader = loader
        self.on_feature_error = on_feature_error or (lambda slot, symbol, exc: None)
        self.routing: Routing | None = None
        self.swaps = 0
        self.last_reload_error: str | None = None
        self._previous: ModelSlot | None = None
        # bars of every symbol pass through this lock, so a swap's catch-up sees them all
        self._stream_lock = threading.Lock()
        self._reload_lock = threading.Lock()

    # ---------------------------------------------------------------- loading and swaps
    def _warm(self, slot: ModelSlot) -> dict[str, int]:
        """Warm ``slot`` on every kept history it knows; {symbol: last bar it has seen}."""
        marks = {}
        for symbol, history in self.histories.items():
            if slot.knows(symbol):
                marks[symbol] = history.last_ts
                slot.predictor.warm_up(symbol, history.frame())
        return marks

    def _catch_up(self, slot: ModelSlot, marks: dict[str, int]) -> None:
        """Feed ``slot`` the bars that arrived while it warmed up (under the stream lock)."""
        for symbol, mark in marks.items():
            for bar in self.histories[symbol].bars_after(mark):
                slot.predictor.on_bar(symbol, bar.as_mapping(), bar.timestamp)

    def _prepared(self, reference: str | ModelSlot) -> tuple[ModelSlot, dict[str, int]]:
        slot = reference if isinstance(reference, ModelSlot) else self.loader(reference)
        served = [s for s in self.histories if slot.knows(s)]
        if not served:
            raise DataError(
                f"{slot.label} knows symbols {slot.package.symbols}, none of which has a "
                f"warm-up history here ({sorted(self.histories)})"
            )
        return slot, self._warm(slot)

    def start(
        self, champion: str | ModelSlot, challenger: str | ModelSlot | None = None
    ) -> Routing:
        """Warm the first models up (a slot already loaded, or a reference to load)."""
        new = {"champion": self._prepared(champion)}
        if challenger:
            new["challenger"] = self._prepared(challenger)
        return self._install(new, split=TrafficSplit())

    def _install(
        self, new: dict[str, tuple[ModelSlot, dict[str, int]]], *, split: TrafficSplit | None
    ) -> Routing:
        with self._stream_lock:
            for slot, marks in new.values():
                self._catch_up(slot, marks)
            current = self.routing
            fields = {role: slot for role, (slot, _) in new.items()}
            if current is None:
                routing = Routing(split=split or TrafficSplit(), **fields)
            else:
                routing = replace(current, **fields)
                if split is not None:
                    routing = replace(routing, split=split)
                if "champion" in fields:
                    self._previous = current.champion
            if routing.challenger is None and routing.split.mode != "off":
                routing = replace(routing, split=TrafficSplit())
            self.routing = routing  # the switch: one assignment, read once per request
            self.swaps += current is not None
        settle_heap()
        return routing

    def reload(self) -> tuple[bool, str]:
        """Load whatever the references point at now if it changed; (changed, message)."""
        with self._reload_lock:
            current = self.routing
            new = {}
            for role in ("champion", "challenger"):
                slot = getattr(current, role)
                if slot is None:
                    continue
                name, version = resolve_reference(slot.reference)
                if version != slot.version:
                    new[role] = self._prepared(slot.reference)
            if not new:
                self.last_reload_error = None
                return False, "the registry points at the versions already served"
            self._install(new, split=None)
            self.last_reload_error = None
            moved = ", ".join(
                f"{role} {getattr(current, role).label} -> {slot.label}"
                for role, (slot, _) in new.items()
            )
            logger.info("hot swap: %s", moved)
            return True, moved

    def rollback(self, reason: str) -> tuple[bool, str]:
        """Back to the previous champion: in the registry when serving an alias (the
        registry stays the one truth, so the poller does not swap forward again), else to
        the version this process served before."""
        from trademl.package import parse_model_uri

        current = self.routing.champion
        ref = parse_model_uri(current.reference)
        if ref.alias is not None:
            from trademl import tracking

            with self._reload_lock:
                restored = tracking.rollback(ref.name, reason)
            logger.info("registry rollback of %s to v%s: %s", ref.name, restored, reason)
            return self.reload()
        previous = self._previous
        if previous is None:
            raise DataError("rollback: no earlier champion was served by this process")
        with self._reload_lock:
            slot, marks = self._prepared(f"{previous.name}/{previous.version}")
            self._install({"champion": (slot, marks)}, split=None)
        return True, f"champion {current.label} -> {slot.label} ({reason})"

    def set_traffic(self, split: TrafficSplit) -> Routing:
        with self._stream_lock:
            if split.mode != "off" and self.routing.challenger is None:
                raise DataError(f"traffic mode {split.mode!r}: no challenger is loaded")
            self.routing = replace(self.routing, split=split)
            return self.routing

    # ---------------------------------------------------------------- requests
    @property
    def ready(self) -> bool:
        return self.routing is not None

    def on_bars(
        self,
        symbol: str,
        bars: Sequence,
        *,
        key: str | None = None,
        allow_gap: bool = False,
        now_ns: int | None = None,
    ) -> BarsResult:
        """Check, keep and predict new closed bars of ``symbol`` with every loaded model."""
        history = self.histories.get(symbol)
        if history is None:
            raise BarRejected(
                f"symbol: {symbol!r} is not served here (served: {sorted(self.histories)})",
                field="symbol",
                status=404,
            )
        now_ns = time.time_ns() if now_ns is None else now_ns
        with self._stream_lock:
            started = time.perf_counter()
            routing = self.routing
            checked = check_bars(
                history, bars, step_ns=self.step_ns, now_ns=now_ns, allow_gap=allow_gap
            )
            answering = routing.answering(key or symbol)
            results: dict[int, list[dict]] = {}
            for slot in routing.slots:
                if slot.knows(symbol):
                    results[id(slot)] = self._feed(slot, symbol, checked, must=slot is answering)
            history.extend(checked)
            seconds = time.perf_counter() - started
        shadow_slot = routing.shadowing(answering)
        shadow = None
        if shadow_slot is not None and results.get(id(shadow_slot)):
            shadow = (shadow_slot, results[id(shadow_slot)])
        return BarsResult(symbol, answering, results[id(answering)], shadow, seconds)

    def _feed(self, slot: ModelSlot, symbol: str, bars: list[NewBar], *, must: bool) -> list:
        out = []
        for bar in bars:
            try:
                out.append(slot.predictor.on_bar(symbol, bar.as_mapping(), bar.timestamp))
            except (TradeMLError, ValueError, ArithmeticError) as exc:
                self.on_feature_error(slot, symbol, exc)
                if must:
                    raise
                return []
        return out

    def predict_values(
        self, values, *, symbol: str | None, key: str | None
    ) -> tuple[ModelSlot, tuple, tuple[ModelSlot, tuple] | None]:
        """Rows in the answering model's column order -> (slot, (y_pred, proba, signal),
        the shadow's (slot, result) or None)."""
        routing = self.routing
        answering = routing.answering(key or symbol or "")
        scored = answering.package.score_values(values, symbol)
        shadow_slot = routing.shadowing(answering)
        shadow = None
        if shadow_slot is not None:
            try:
                if shadow_slot.package.feature_names == answering.package.feature_names:
                    shadow = (shadow_slot, shadow_slot.package.score_values(values, symbol))
            except (TradeMLError, ValueError) as exc:
                self.on_feature_error(shadow_slot, symbol or "", exc)
        return answering, scored, shadow
