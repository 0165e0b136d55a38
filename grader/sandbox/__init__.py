"""The box every piece of a student's code runs in, and the processes started in it."""
