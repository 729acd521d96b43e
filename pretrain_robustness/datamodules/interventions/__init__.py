"""Interventions on a pre-training distribution: pure, seeded table -> table callables.

Each is a small frozen dataclass: its typed fields are what a config lists under ``init_args``
(``class_path: pretrain_robustness.datamodules.interventions.ClassBalancedSubset``), checked when the
config is parsed and shown by ``--help``; calling it on a source table gives the new table. No file
I/O and no torch, so every DDP rank computes the same table. ``condition_params`` says which of its
arguments define the condition (recorded with the run and plotted against; seeds do not).
"""

from .base import Intervention, condition_params
from .class_subsets import ClassBalancedSubset, KeepValues, MostFrequentClasses, RandomClasses, Relabel, SelectClasses
from .label_hierarchy import SEMANTIC_FAMILY, BreedsDiversity, CoarsenLabels, SemanticSubset, SuperclassDiversity

__all__ = ["SEMANTIC_FAMILY", "BreedsDiversity", "ClassBalancedSubset", "CoarsenLabels", "Intervention", "KeepValues",
           "MostFrequentClasses", "RandomClasses", "Relabel", "SelectClasses", "SemanticSubset", "SuperclassDiversity",
           "condition_params"]
