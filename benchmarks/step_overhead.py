"""Training-step overhead of Lightning and the project's classifier system against a plain PyTorch
loop: the same network, optimiser, loss and in-memory batches, on the CPU.

    .venv/bin/python benchmarks/step_overhead.py [--steps 40] [--batch 32] [--size 64]

Prints seconds per step for each and the overhead (median of 7 interleaved rounds, each round's own ratio too); writes
benchmarks/results/step_overhead.json.
"""

from __future__ import annotations

import argparse

import time

import torch
from lightning.pytorch import Callback, Trainer
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

# common.py lies beside this script: Python puts the script's folder on sys.path
from common import median_rates, write_results

from pretrain_robustness.lightning_modules import ImageClassifier  # noqa: E402


def _sgd(params):
    return torch.optim.SGD(params, lr=0.01, momentum=0.9)


class StepClock(Callback):
    """Times the steps after the first (the Trainer's start and end are not steps)."""

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if batch_idx == 1:
            self.start = time.perf_counter()

    def on_train_epoch_end(self, trainer, pl_module):
        self.seconds = time.perf_counter() - self.start


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    images = torch.randn(args.steps * args.batch, 3, args.size, args.size)
    labels = torch.randint(0, 10, (len(images),))
    batches = [(images[i:i + args.batch], labels[i:i + args.batch], torch.arange(i, i + args.batch))
               for i in range(0, len(images), args.batch)]
    loader = DataLoader(TensorDataset(images, labels, torch.arange(len(images))), batch_size=args.batch)

    seconds: dict[str, float] = {}

    def plain() -> int:
        model = ImageClassifier("resnet18", num_classes=10).network.train()
        optimizer = _sgd(model.parameters())
        for i, (x, y, _) in enumerate(batches):
            if i == 1:
                start = time.perf_counter()
            optimizer.zero_grad(set_to_none=True)
            F.cross_entropy(model(x), y).backward()
            optimizer.step()
        seconds["plain"] = time.perf_counter() - start
        return 1

    def lightning() -> int:
        system = ImageClassifier("resnet18", num_classes=10, optimizer=_sgd)
        clock = StepClock()
        trainer = Trainer(max_epochs=1, accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
                          enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
                          callbacks=[clock])
        trainer.fit(system, train_dataloaders=loader)
        seconds["lightning"] = clock.seconds
        return 1

    # each function reports 1 "item": the rate is 1 / its whole time; the step time is taken inside it
    per_round: dict[str, list[float]] = {"plain": [], "lightning": []}
    for _ in range(args.rounds):
        median_rates({"plain": plain, "lightning": lightning}, 1)
        for name in per_round:
            per_round[name].append(seconds[name] / (len(batches) - 1))
    per_step = {k: sorted(v)[len(v) // 2] for k, v in per_round.items()}
    overhead = per_step["lightning"] / per_step["plain"] - 1
    print(f"{args.steps} steps of resnet18, batch {args.batch} at {args.size} px (CPU, {torch.get_num_threads()} threads): "
          f"plain {per_step['plain'] * 1000:.1f} ms/step, Lightning {per_step['lightning'] * 1000:.1f} ms/step "
          f"({100 * overhead:+.1f}%; steps 2-{args.steps}, median of {args.rounds} interleaved rounds)")
    # each round's own ratio: how far apart two runs of the same thing are on this machine
    spread = [round(l / p - 1, 4) for p, l in zip(per_round["plain"], per_round["lightning"])]
    print(f"overhead per round: {', '.join(f'{100 * o:+.1f}%' for o in spread)}")
    results = {"threads": torch.get_num_threads(), "steps": args.steps, "batch": args.batch, "size": args.size,
               **{f"{k}_seconds_per_step": round(v, 5) for k, v in per_step.items()},
               "overhead": round(overhead, 4), "overhead_per_round": spread}
    write_results(__file__, results)
    return results


if __name__ == "__main__":
    main()
