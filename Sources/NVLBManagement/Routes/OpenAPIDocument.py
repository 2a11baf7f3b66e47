#!/usr/bin/env python3
"""Regenerates OpenAPIDocument.swift from docs/openapi.yaml (the contract, served as is)."""
import pathlib

here = pathlib.Path(__file__).resolve().parent
root = here.parents[2]
text = (root / "docs/openapi.yaml").read_text()
assert '"""#' not in text
(here / "OpenAPIDocument.swift").write_text(
    "// Generated from docs/openapi.yaml — do not edit here. After changing docs/openapi.yaml run\n"
    "//   python3 Sources/NVLBManagement/Routes/OpenAPIDocument.py\n"
    "// (a test fails while the two differ).\n\n"
    "/// docs/openapi.yaml, compiled in and served as is at `/v1/openapi.yaml` (the binary needs no\n"
    "/// resource files next to it).\n"
    "enum OpenAPIDocument {\n"
    '    static let text = #"""\n' + text + '\n"""#\n}\n'
)
