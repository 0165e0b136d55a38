"""What the notebooks load, where it comes from, and how to make it work offline."""
