"""solutions/*.py -> nbgrader source -> nbgrader release -> notebooks/ (jupytext + Colab)."""
