"""rnnbench: which sequence model, which optimizer, at which sequence length?"""

__version__ = "0.1.0"
