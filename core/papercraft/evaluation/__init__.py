"""The evaluation runner: benchmarks as tasks, run folders, resume and reports."""
