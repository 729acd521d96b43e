"""How the pre-training data distribution shapes the robustness of fine-tuned models."""

__version__ = "0.1.0"
