"""What a researcher sees in W&B, read from the offline run files W&B's own writer leaves (decoded with
its protobuf schema, ``tests/wandb_records.py``): a fine-tuning run's summary holds the best epoch's
scores (the checkpoint rule's epoch) and the last's, ``epoch`` as the console counts it; its config
groups it by study, condition, architecture, seed, kind and ties it to its pre-training (identity,
manifest and checkpoint sha256, W&B id) without the module's hparams repeated; its tags name kind and seed."""

import pandas as pd

from pretrain_robustness import store
from pretrain_robustness.run.lightning_cli import run_cli

from . import wandb_records
from .test_bad_inputs import finetune, pretrain


def _with_wandb(args):
    return [a for a in args if a not in ("--trainer.logger", "false")]


def test_a_fine_tuning_run_shows_its_best_epoch_and_its_pre_training(tiny_data, tmp_path):
    run_cli(_with_wandb(pretrain(tiny_data, tmp_path, "--model.architecture", "resnet18")))
    source = next(tmp_path.glob("demo/pretrain/*/resnet18-seed0"))
    run_cli(_with_wandb(finetune(tiny_data, tmp_path, "--trainer.max_epochs", "3", "--model.architecture", "resnet18",
                                 "--run.condition", "imagenet-demo", "--model.optimizer.init_args.lr", "0.01",
                                 "--model.init_checkpoint", str(store.checkpoint_path(source)))))
    run = next(tmp_path.glob("demo/finetune/imagenet-demo/resnet18-seed0"))
    pretrain_record, record = store.read_record(source), store.read_record(run)

    logged = wandb_records.finished_run_file(run)
    summary, config = wandb_records.summary(logged), wandb_records.config(logged)
    metrics = store.read_metrics(run)
    wide = metrics.pivot_table(index="epoch", columns="split", values="f1_macro")
    best = int(wide["id_val"].idxmax())  # the first highest: ModelCheckpoint(mode="max") keeps it
    assert [p.name for p in run.glob("checkpoints/best-*")] == [f"best-epoch{best}.ckpt"]  # named as counted
    assert summary["best/epoch"] == best and summary["last/epoch"] == summary["epoch"] == 3
    for split in ("id_val", "id_test", "ood_test"):
        assert summary[f"best/val/{split}/f1_macro"] == wide.loc[best, split]
        assert summary[f"last/val/{split}/f1_macro"] == wide.loc[3, split]
    assert wide["ood_test"].nunique() > 1  # the epochs differ: the best's and the last's can be told apart

    grouped = config["record"]
    assert {k: grouped[k] for k in ("study", "kind", "condition", "architecture", "seed")} == {
        "study": "demo", "kind": "finetune", "condition": "imagenet-demo", "architecture": "resnet18", "seed": 0}
    assert grouped["identity"] == pretrain_record["identity"] and grouped["pretrain_wandb_id"] == pretrain_record["wandb_id"]
    assert grouped["manifest_sha256"] == pretrain_record["manifest"]["sha256"]
    assert grouped["init_checkpoint_sha256"] == record["init_checkpoint"]["sha256"]
    assert not {"architecture", "num_classes", "_instantiator", "optimizer", "lr_scheduler"} & set(config)
    assert config["model"]["architecture"] == "resnet18"  # the CLI's config, once
    tags = list(wandb_records.run_settings(logged).tags)
    assert {"finetune", "imagenet-demo", "resnet18", "seed0"} <= set(tags)

    source_config = wandb_records.config(wandb_records.finished_run_file(source))["record"]
    assert source_config["manifest_sha256"] == pretrain_record["manifest"]["sha256"]
    assert source_config["identity"] == pretrain_record["identity"]
    assert isinstance(metrics, pd.DataFrame)


def test_the_best_epoch_is_the_first_highest_monitored_score_as_the_checkpoint_rule_picks():
    """Ties go to the earlier epoch (ModelCheckpoint saves on a strict improvement), a NaN score is never
    best (Lightning reads it as -inf), and every split is reported at that epoch, not at its own best."""
    from pretrain_robustness.callbacks.wandb_run import summary_values

    scores = {1: (0.30, 0.10), 2: (0.50, 0.20), 3: (float("nan"), 0.90), 4: (0.50, 0.40), 5: (0.45, 0.30)}
    rows = [{"stage": "val", "epoch": e, "global_step": e, "split": split, "f1_macro": value, "accuracy": 0.5, "n": 9}
            for e, pair in scores.items() for split, value in zip(("id_val", "ood_test"), pair)]
    rows.append({"stage": "test", "epoch": 5, "global_step": 5, "split": "id_val", "f1_macro": 0.99, "accuracy": 1, "n": 9})
    values = summary_values(pd.DataFrame(rows), "id_val")
    assert values["best/epoch"] == 2 and values["best/val/ood_test/f1_macro"] == 0.20
    assert values["last/epoch"] == values["epoch"] == 5 and values["last/val/id_val/f1_macro"] == 0.45
    assert summary_values(pd.DataFrame(rows[:0], columns=list(rows[0])), "id_val") == {}
