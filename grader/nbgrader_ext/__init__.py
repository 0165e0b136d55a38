"""nbgrader's plug-ins of this course: the Colab-name collector, the graded run's preprocessors, the
feedback exporter."""
