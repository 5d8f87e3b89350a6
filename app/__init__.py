"""ConvScope: a CNN in NumPy, opened up for inspection, forward and backward."""

__version__ = "0.1.0"
