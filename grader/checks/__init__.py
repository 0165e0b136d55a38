"""The grader's own checks, judged outside the student's kernel: one registry, one result type."""
