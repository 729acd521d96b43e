"""A run's config.yaml is what the run wrote: run.json keeps its sha256, and a hand-edited one is refused
where it would decide something (continuing the run, a study's check of its folder's settings)."""

import hashlib

import pytest

from pretrain_robustness import store
from pretrain_robustness.cli import main

from .test_bad_inputs import finetune


def test_an_edited_config_yaml_is_refused(tiny_data, tmp_path):
    args = finetune(tiny_data, tmp_path, "--model.architecture", "shufflenet_v2_x0_5", "--trainer.max_epochs", "2",
                    "--trainer.limit_train_batches", "1")
    main(args)
    run = store.find_runs(tmp_path)[0]
    config = run / store.CONFIG
    assert store.read_record(run)["config_sha256"] == hashlib.sha256(config.read_bytes()).hexdigest()
    assert store.read_config(run)["model"]["architecture"] == "shufflenet_v2_x0_5"
    config.write_text(config.read_text().replace("lr: 0.001", "lr: 0.5"))  # its recorded settings, changed by hand
    with pytest.raises(ValueError, match="config.yaml was changed after its run started"):
        main([*args, "--model.optimizer.init_args.lr", "0.5", "--ckpt_path", "last"])
    assert store.read_record(run)["status"] == "incomplete"  # nothing was changed
