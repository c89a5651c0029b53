"""evidence: an evidence-tracking literature database over PubMed."""

__version__ = "0.1.0"
__all__ = ["__version__"]
