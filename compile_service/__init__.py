"""compile_service: resumes to PDF through sandboxed LaTeX. Jobs are event streams in the
`compile` schema; workers consume `CompileRequested` from a work queue; PDFs are stored by
content address so the same source never compiles twice."""
