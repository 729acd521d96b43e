"""Analysis: one module reads runs (``runs.py``); the rest are pure functions over DataFrames."""
