"""Typesetting: engines that turn rendered source into a PDF.

`engine.py` is the small interface every engine implements, `sandbox.py` how an engine runs
an untrusted program (a fresh run directory, resource limits, a process group killed at the
deadline), `latex.py` the pdfLaTeX engine (a sandboxed process per job), `typst.py` the Typst
engine (Typst's compiler as a library, warm in the worker process, templates fed the resume
as data). Both are registered by name in `compile_service.wiring`.
"""
