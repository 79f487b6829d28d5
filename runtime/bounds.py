"""Bounds of the integers a request may carry: what the columns they reach can hold, so an
out-of-range number is a 422 at the edge instead of an overflow (a 500) in the database."""

from typing import Annotated

from fastapi import Path
from pydantic import Field

# PostgreSQL `integer` (int4): every version column (events.stream_version, resumes.version,
# jobs/ratings.resume_version, resume_versions.version); only positions are bigint.
INT4_MAX = 2**31 - 1

# Versions count from 1 (0 is "no stream yet", which no request can name).
Version = Annotated[int, Field(ge=1, le=INT4_MAX)]
VersionInPath = Annotated[int, Path(ge=1, le=INT4_MAX, description="A version of the resume.")]
