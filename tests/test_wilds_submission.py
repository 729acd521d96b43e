"""A run's predictions in WILDS' submission format, scored by WILDS' own code: the files WILDS'
``examples/evaluate.py`` reads (``iwildcam_split:<split>_seed:<s>_epoch:last_pred.csv``, one label per
line in WILDS' subset order), evaluated as it evaluates them (``dataset.eval`` on ``get_subset``'s labels
and metadata), give the macro-F1 and accuracy the run logged for that checkpoint; so do the float16
logits kept per epoch (``EpochLogits``) and per scored checkpoint (``logits/<ckpt>.npz``)."""

from ast import literal_eval

import numpy as np
import pandas as pd
import pytest
import torch

from pretrain_robustness import store
from pretrain_robustness.cli import main
from pretrain_robustness.run.lightning_cli import run_cli
from pretrain_robustness.run.wilds_submission import write_submission

from .test_bad_inputs import finetune


def test_wilds_scores_the_submission_files_as_the_run_scored_itself(tiny_data, tmp_path):
    from wilds.datasets.iwildcam_dataset import IWildCamDataset

    run_cli(finetune(tiny_data, tmp_path, "--trainer.max_epochs", "2", "--model.architecture", "resnet18",
                     "--model.optimizer.init_args.lr", "0.01",
                     "--trainer.callbacks+=pretrain_robustness.callbacks.EpochLogits",
                     "--trainer.callbacks.wilds_submission=true"))
    run = next(tmp_path.glob("demo/finetune/scratch/*"))
    main(["predictions", "--run", str(run), "--splits", "[id_val, id_test, ood_val, ood_test]", "--wilds_submission", "true"])
    dataset = IWildCamDataset(root_dir=str(tiny_data), download=False)
    logged = store.read_metrics(run).query("epoch == 2").set_index("split")
    for ours, theirs in (("id_val", "id_val"), ("id_test", "id_test"), ("ood_val", "val"), ("ood_test", "test")):
        lines = (run / "wilds_submission" / f"iwildcam_split:{theirs}_seed:0_epoch:last_pred.csv").read_text().splitlines()
        predicted = torch.from_numpy(np.array([literal_eval(line) for line in lines if line]))
        subset = dataset.get_subset(theirs)
        results = dataset.eval(predicted, subset.y_array, subset.metadata_array)[0]
        # WILDS returns its metrics as float32 (torch): equal to that precision
        assert results["F1-macro_all"] == pytest.approx(logged.loc[ours, "f1_macro"], rel=1e-6), ours
        assert results["acc_avg"] == pytest.approx(logged.loc[ours, "accuracy"], abs=1e-6), ours
        for label, epoch in (("epoch-2", 2), ("epoch-1", 1), ("last", 2)):  # kept logits score as the run did
            examples, logits = store.read_logits(store.logits_path(run, label))[ours]
            assert logits.dtype == np.float16 and np.array_equal(examples, np.arange(len(subset.y_array)))
            assert np.isfinite(logits).all() and (logits.max(1) == 0).all()  # shifted, never past float16's range
            scored = dataset.eval(torch.from_numpy(logits.argmax(1)), subset.y_array, subset.metadata_array)[0]
            expected = store.read_metrics(run).query(f"epoch == {epoch}").set_index("split").loc[ours, "f1_macro"]
            assert scored["F1-macro_all"] == pytest.approx(expected, rel=1e-6), (ours, label)
        assert np.array_equal(logits, store.read_logits(store.logits_path(run, "epoch-2"))[ours][1])
        # each epoch's WILDS files (WILDS counts epochs from 0): epoch 1's scored by WILDS is its logged F1
        lines = (run / "wilds_submission" / f"iwildcam_split:{theirs}_seed:0_epoch:0_pred.csv").read_text().split()
        scored = dataset.eval(torch.tensor([int(x) for x in lines]), subset.y_array, subset.metadata_array)[0]
        expected = store.read_metrics(run).query("epoch == 1").set_index("split").loc[ours, "f1_macro"]
        assert scored["F1-macro_all"] == pytest.approx(expected, rel=1e-6), ours
    assert logged["f1_macro"].nunique() > 1  # the splits score differently: a file of another split would show


def test_a_split_with_a_missing_or_repeated_example_is_refused(tmp_path):
    table = pd.DataFrame({"split": ["id_test"] * 3, "example": [0, 2, 2], "y_pred": [1, 2, 3]})
    with pytest.raises(ValueError, match="split 'id_test': the predictions do not cover each of its 3 examples once"):
        write_submission(table, tmp_path, 0, "best")
    written = write_submission(table.assign(example=[2, 0, 1]), tmp_path, 1, "best")
    assert [p.name for p in written] == ["iwildcam_split:id_test_seed:1_epoch:best_pred.csv"]
    assert written[0].read_text() == "2\n3\n1\n"  # in the split's order, not the table's


def test_per_epoch_wilds_files_are_refused_for_data_other_than_iwildcam():
    from types import SimpleNamespace

    from pretrain_robustness.callbacks import EpochLogits

    class DomainNetDataModule:  # any data but iWildCam: WILDS' file names would name splits it does not have
        pass

    with pytest.raises(ValueError, match="WILDS' submission files here are iWildCam's; this run's data is DomainNet"):
        EpochLogits(wilds_submission=True).setup(SimpleNamespace(datamodule=DomainNetDataModule()), None, "fit")
    EpochLogits().setup(SimpleNamespace(datamodule=DomainNetDataModule()), None, "fit")  # logits alone: any data
