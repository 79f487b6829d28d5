"""Typesetting: engines that turn rendered source into a PDF.

`engine.py` is the small interface every engine implements, `sandbox.py` how an engine runs
an untrusted program (a fresh run directory, resource limits, a process group killed at the
deadline), `latex.py` the pdfLaTeX engine. A second engine (Typst) is another module beside
`latex.py`, registered by name in `compile_service.wiring`.
"""
