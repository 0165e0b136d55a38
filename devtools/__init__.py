"""Development tools of the course repository, not installed with the grader: the round trip on the
example class, calibration, the example submissions, the Colab twin, nbval notebooks and the benchmarks.
They need a checkout (solutions/, submissions/examples/) and run from its root (`course roundtrip`,
`python -m devtools.benchmarks.grading`)."""
