"""Synthetic pre-training data: FractalDB and Stable Diffusion generated images."""
