"""What a student runs before handing in: the visible tests and the points."""
