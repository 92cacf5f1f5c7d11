from django.apps import AppConfig


class BenchConfig(AppConfig):
    """Benchmark commands (bench_seed, bench): the measured proof of DESIGN.md §12."""

    name = "bench"
