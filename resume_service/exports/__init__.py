"""The resume as a file: the project's own JSON, Markdown, plain text and DOCX.

Each format is an `Exporter` in `formats.EXPORTERS` (media type, extension, a pure render
function from the document to bytes). Markdown, text and DOCX render one `outline.Outline`,
what a reader sees in order, so a field added to the outline reaches all three."""
