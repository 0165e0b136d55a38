"""Stage 2: grade each submission in a scratch course of its own (grade_one.py), a class on a pool (class_run.py)."""
