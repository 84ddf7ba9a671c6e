"""paperzoo: ten recent research papers as runnable, tested software."""

__version__ = "0.1.0"
