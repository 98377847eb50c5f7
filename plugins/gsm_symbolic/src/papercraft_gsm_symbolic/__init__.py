"""GSM-Symbolic (Mirzadeh et al., 2024) for papercraft: a template engine and benchmarks."""

__version__ = "0.1.0"
