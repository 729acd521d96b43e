"""The state a run's final checkpoint holds, compared bit for bit with another run's: what an exact
resume must restore (weights and BatchNorm statistics, optimizer state such as SGD's momentum and
Adam's moments and step, the learning-rate scheduler, the loops' position), not only what it scores."""

from __future__ import annotations

from pathlib import Path

import torch

from pretrain_robustness import store

# what a resumed run must equal; not the callbacks' states (they hold the run's own paths) nor hparams
COMPARED = ("epoch", "global_step", "state_dict", "optimizer_states", "lr_schedulers", "loops")


def final_state(run: Path) -> dict:
    checkpoint = torch.load(store.checkpoint_path(run), map_location="cpu", weights_only=True)
    return {key: checkpoint.get(key) for key in COMPARED}


def differences(found, expected, where: str = "") -> list[str]:
    """Every place the two nested states differ: a tensor's dtype, shape or any bit, a key, a value."""
    if isinstance(expected, torch.Tensor):
        same = (isinstance(found, torch.Tensor) and found.dtype == expected.dtype and found.shape == expected.shape
                and torch.equal(found, expected))
        return [] if same else [where]
    if isinstance(expected, dict):
        if not isinstance(found, dict) or found.keys() != expected.keys():
            return [f"{where}: keys {sorted(map(str, getattr(found, 'keys', list)()))} != {sorted(map(str, expected))}"]
        return [d for key in expected for d in differences(found[key], expected[key], f"{where}.{key}")]
    if isinstance(expected, (list, tuple)):
        if not isinstance(found, (list, tuple)) or len(found) != len(expected):
            return [f"{where}: {found!r} != {expected!r}"]
        return [d for i, pair in enumerate(zip(found, expected)) for d in differences(*pair, f"{where}[{i}]")]
    return [] if found == expected else [f"{where}: {found!r} != {expected!r}"]


def assert_same_training_state(run: Path, reference: Path) -> None:
    found, expected = final_state(run), final_state(reference)
    assert expected["state_dict"] and expected["optimizer_states"], "the reference checkpoint holds no training state"
    differ = differences(found, expected)
    assert not differ, f"{run.name} differs from {reference.name} in {len(differ)} place(s): {differ[:8]}"
