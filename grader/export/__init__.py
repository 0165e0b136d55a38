"""Stage 3: the grades out of nbgrader's gradebook: the grade table, grades.csv, Canvas's import file."""
