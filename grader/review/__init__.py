"""Stage 4: after grading, what an instructor reviews across the class: how alike the hand-ins are."""
