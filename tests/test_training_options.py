"""Training options (channels_last, compile, precision) change speed, not what a run is: they are
recorded in run.json, and channels_last computes the same function."""

import json

import torch

from pretrain_robustness.cli import main
from pretrain_robustness.lightning_modules import ImageClassifier


def test_channels_last_computes_the_same_logits():
    torch.manual_seed(0)
    model = ImageClassifier(architecture="resnet18", num_classes=5).eval()
    images = torch.randn(2, 3, 40, 40)
    with torch.no_grad():
        reference = model(images)
        model.channels_last = True
        model.network.to(memory_format=torch.channels_last)
        assert model.network.conv1.weight.is_contiguous(memory_format=torch.channels_last)
        assert torch.allclose(model(images), reference, atol=1e-4)


def test_training_settings_are_recorded(tiny_data, tmp_path):
    runs = tmp_path / "runs"
    main(["fit", "--config", "configs/recipes/finetune_wilds.yaml", "--config", "configs/demo/finetune.yaml",
          "--data.init_args.root", str(tiny_data), "--data.init_args.image_size", "32", "--data.init_args.num_workers",
          "0", "--trainer.fast_dev_run", "1", "--trainer.logger", "false", "--run.root", str(runs),
          "--model.channels_last", "true", "--trainer.precision", "bf16-mixed"])
    record = json.loads(next(runs.glob("**/run.json")).read_text())
    assert record["training"] == {"precision": "bf16-mixed", "device": "cpu", "channels_last": True, "compile": False,
                                  "cpu_threads": torch.get_num_threads(), "sync_batchnorm": False}
    assert record["global_batch"] == 32 and record["world_size"] == 1
