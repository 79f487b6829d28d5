"""ai_service's own metrics (beside runtime.metrics'): rating and import duration by outcome,
model calls, reuse of an earlier rating (the rating cache) and rate-limit refusals."""

from runtime.metrics import service_metrics

SERVICE = "ai_service"


def observe_rating(outcome: str, model_calls: int, seconds: float) -> None:
    """One rating by the worker: `completed` or the failure code; calls include retries."""
    metrics = service_metrics(SERVICE)
    metrics.histogram("rb_ai_rating_duration_seconds", "Time to rate one resume (model "
                      "calls and retries included).", ("outcome",)).labels(outcome).observe(
                          seconds)
    metrics.counter("rb_ai_model_calls_total", "Calls made to the model.",
                    ("outcome",)).labels(outcome).inc(model_calls)


def count_reuse(hit: bool) -> None:
    """A rating request answered by an existing job for the same input (hit) or a new one."""
    service_metrics(SERVICE).counter(
        "rb_ai_rating_cache_total", "Rating requests by whether an earlier job was reused.",
        ("result",)).labels("hit" if hit else "miss").inc()


def count_rate_limited() -> None:
    service_metrics(SERVICE).counter(
        "rb_ai_rate_limit_refusals_total", "Rating requests refused by the per-user limit.").inc()


def observe_import(outcome: str, model_calls: int, seconds: float) -> None:
    """One import by the worker: `succeeded` or the failure code; calls include retries."""
    metrics = service_metrics(SERVICE)
    metrics.histogram("rb_ai_import_duration_seconds", "Time to read one resume file (model "
                      "calls and retries included).", ("outcome",)).labels(outcome).observe(
                          seconds)
    metrics.counter("rb_ai_model_calls_total", "Calls made to the model.",
                    ("outcome",)).labels(outcome).inc(model_calls)
