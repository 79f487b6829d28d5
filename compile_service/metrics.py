"""compile_service's own metrics (beside runtime.metrics'): compile duration by template and
outcome, and lookups of the content-addressed PDF store (a hit needs no engine run)."""

from runtime.metrics import service_metrics

SERVICE = "compile_service"


def observe_compile(template: str, outcome: str, seconds: float) -> None:
    """One worker attempt: `succeeded`, `failed` (the document does not compile) or `error`
    (infrastructure: the attempt is retried)."""
    service_metrics(SERVICE).histogram(
        "rb_compile_duration_seconds", "Time a worker spent compiling one job attempt.",
        ("template", "outcome")).labels(template, outcome).observe(seconds)


def count_artifact_lookup(hit: bool) -> None:
    service_metrics(SERVICE).counter(
        "rb_compile_artifact_cache_total", "Lookups of an already stored PDF by result.",
        ("result",)).labels("hit" if hit else "miss").inc()
