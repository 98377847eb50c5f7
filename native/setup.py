"""Builds the cffi extension papercraft_native._native (API mode) at install time.

The sources, flags and cdef live in src/papercraft_native/_build.py; paths there are relative
to this directory (setuptools refuses absolute source paths).
"""

from setuptools import setup

setup(cffi_modules=["src/papercraft_native/_build.py:ffibuilder"])
