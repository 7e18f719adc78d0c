"""``features:`` section (owned by the feature layer; extended there)."""

from __future__ import annotations

from trademl.config._base import SpecModel


class FeatureSpec(SpecModel):
    pass
