#!/usr/bin/env bash
# The demo study with external models on its report (docs/your_model.md): the demo's own pre-trained
# backbones exported as another project would ship them (a torchvision state_dict, a Hugging Face-style
# .safetensors file) into a folder with its SHA256SUMS, added as a model zoo per architecture, fine-tuned
# by the study, and the report rendered in headless Chromium (docs/images/zoo_report.png). Each exported
# model holds the same weights as the study's own imagenet-demo hand-off, so its scores show whether the
# format path loses anything. About 5 minutes on 2 cores.
#   bash scripts/zoo_demo.sh [store folder]     (default: a temporary one)
set -euo pipefail
cd "$(dirname "$0")/.."
export OUTDATED_IGNORE=1 PYTHONUNBUFFERED=1 WANDB_MODE=offline
store="${1:-$(mktemp -d)}"
.venv/bin/pretrain-robustness study --config configs/studies/demo.yaml --root "$store/runs" > "$store/demo.log"
.venv/bin/python - "$store" <<'PY'
import hashlib, sys
from pathlib import Path
import torch, yaml
from safetensors.torch import save_file
store = Path(sys.argv[1])
study = yaml.safe_load(Path("configs/studies/demo.yaml").read_text())
for run in sorted((store / "runs/demo/pretrain/imagenet-demo").glob("*-seed0")):
    architecture = run.name.removesuffix("-seed0")
    state = torch.load(run / "checkpoints/last.ckpt", map_location="cpu", weights_only=True)["state_dict"]
    weights = {k.removeprefix("network."): v.contiguous() for k, v in state.items() if k.startswith("network.")}
    folder = store / "zoo" / architecture
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(weights, folder / "torchvision.pth")
    save_file(weights, folder / "hub.safetensors")
    (folder / "SHA256SUMS").write_text("".join(f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.name}\n"
                                               for p in sorted(folder.glob("*.*")) if p.name != "SHA256SUMS"))
    study["conditions"].append({"name": f"zoo-{architecture}", "architectures": [architecture],
                                "checkpoints": {"folder": str(folder), "source": f"imagenet-demo {architecture}, exported"}})
study["root"] = str(store / "runs")
(store / "demo_zoo.yaml").write_text(yaml.safe_dump(study))
PY
.venv/bin/pretrain-robustness study --config "$store/demo_zoo.yaml" | tee "$store/zoo.log" | grep -A12 "^condition\|trend" || true
.venv/bin/pretrain-robustness report --root "$store/runs" --study demo --screenshot true > /dev/null
cp "$store/runs/demo/report.png" docs/images/zoo_report.png
cp "$store/runs/demo/trends.csv" "$store/zoo_trends.csv"
echo "wrote docs/images/zoo_report.png; the run store: $store"
