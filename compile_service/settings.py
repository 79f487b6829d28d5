"""Settings of compile_service (un-prefixed environment variables, see `.env.example`); the
job machinery's own (JOB_*) come from runtime.jobs.JobSettings."""

from typing import Literal

from pydantic import Field

from runtime.jobs import JobSettings


class CompileSettings(JobSettings):
    compile_concurrency: int = Field(2, ge=1, le=32,
                                     description="Jobs one worker process runs at once.")
    typst_in_request: int = Field(
        2, ge=0, le=32, description="Typst jobs an HTTP process renders itself at once, "
        "answering the request with the finished job (a render takes milliseconds); more, "
        "and every LaTeX job, go to the workers. 0: every job goes to the workers.")
    compile_timeout_seconds: float = Field(20.0, gt=0, description="Wall-clock limit per run.")
    compile_memory_limit_mb: int = Field(1024, ge=64, description="Address-space limit of TeX.")
    compile_max_output_mb: int = Field(64, ge=1, description="Largest file TeX may write.")
    pdflatex_path: str = "pdflatex"
    compile_work_dir: str = Field("", description="Parent of the per-run temporary directories "
                                                  "(empty: the system temp dir).")
    artifact_store: Literal["postgres", "directory"] = Field(
        "postgres", description="Where PDFs, their figures and previews are kept: `postgres` "
        "(the compile schema, reached by every instance) or `directory` (ARTIFACTS_DIR, one "
        "machine only).")
    artifacts_dir: str = Field("var/artifacts", description="The directory store's root.")
    compile_templates_extra_dir: str = Field("", description="Extra templates (tests, trials).")
    pdftoppm_path: str = Field("pdftoppm", description="poppler's pdftoppm, which makes the "
                                                       "PNG previews of page 1.")
    preview_dpi: int = Field(72, ge=20, le=300, description="Resolution of page 1's preview.")
    preview_timeout_seconds: float = Field(10.0, gt=0, description="Wall-clock limit of one "
                                                                   "pdftoppm run.")
    preview_max_age_seconds: int = Field(86400, ge=0, description="Cache-Control max-age of "
                                                                  "a preview.")
