"""Submissions -> nbgrader's collect/autograde/feedback/export -> grades."""
