"""lienthong: one warehouse for the one-stop software, ministry systems and the fee gateway."""

__version__ = "0.1.0"
