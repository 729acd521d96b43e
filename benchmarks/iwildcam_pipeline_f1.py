"""What the fast iWildCam pipeline does to a trained model's scores: one checkpoint of a finished
fine-tuning run evaluated through WILDS' path and through the fast path (and the cache, when one
was written), per split: WILDS macro-F1 each way, the difference, and the share of examples whose
prediction changed.

    .venv/bin/python benchmarks/iwildcam_pipeline_f1.py --run runs/demo/finetune/scratch/resnet18-seed0 \
        [--splits id_test ood_test] [--ckpt last.ckpt]

Writes benchmarks/iwildcam_pipeline_f1.json.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import pandas as pd

# common.py lies beside this script: Python puts the script's folder on sys.path
from common import write_results

from pretrain_robustness.cli import main as cli  # noqa: E402
from pretrain_robustness.metrics import wilds_macro_f1  # noqa: E402


def _predictions(run: str, splits: list[str], ckpt: str, pipeline: str, output: Path) -> pd.DataFrame:
    cli(["predictions", "--run", run, "--splits", f"[{', '.join(splits)}]", "--ckpt", ckpt, "--output", str(output),
         "--data.init_args.pipeline", pipeline, "--data.init_args.num_workers", "0"])
    return pd.read_csv(output)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", required=True, help="a finished iWildCam fine-tuning run folder")
    parser.add_argument("--splits", nargs="+", default=["id_test", "ood_test"])
    parser.add_argument("--ckpt", default="last.ckpt")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        wilds, fast = (_predictions(args.run, args.splits, args.ckpt, p, Path(tmp) / f"{p}.csv")
                       for p in ("wilds", "fast"))
    results: dict = {"run": str(Path(args.run).resolve()), "ckpt": args.ckpt}
    for split in args.splits:
        a = wilds[wilds["split"] == split].set_index("filename")
        b = fast[fast["split"] == split].set_index("filename").loc[a.index]
        f1_wilds, f1_fast = (100 * wilds_macro_f1(t["y_true"], t["y_pred"]) for t in (a, b))
        changed = float((a["y_pred"] != b["y_pred"]).mean())
        results[split] = {"examples": len(a), "f1_wilds": round(f1_wilds, 3), "f1_fast": round(f1_fast, 3),
                          "f1_difference": round(f1_fast - f1_wilds, 3), "predictions_changed": round(changed, 4)}
        print(f"{split}: {len(a)} examples, macro-F1 WILDS path {f1_wilds:.2f}, fast path {f1_fast:.2f} "
              f"({f1_fast - f1_wilds:+.2f} points); {100 * changed:.2f}% of predictions changed", flush=True)
    write_results(__file__, results)
    return results


if __name__ == "__main__":
    main()
