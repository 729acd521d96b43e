"""What every intervention is: a named, configurable table -> table step."""

from __future__ import annotations

from typing import Any

import pandas as pd

class Intervention:
    """A named, configurable table -> table step (what a pre-training config lists)."""

    def __call__(self, table: pd.DataFrame) -> pd.DataFrame:
        raise NotImplementedError

    def condition_params(self) -> dict[str, Any]:
        """The condition's parameters this step sets, e.g. ``{"images": 25000}``."""
        return {}


def require_column(table: pd.DataFrame, column: str) -> None:
    if column not in table:
        raise ValueError(f"the source has no column {column!r}; it has {sorted(table.columns)}")


def condition_params(interventions: list[Intervention]) -> dict[str, Any]:
    """The condition parameters set by a list of interventions, later steps winning."""
    params: dict[str, Any] = {}
    for intervention in interventions:
        params.update(intervention.condition_params())
    return params
