#!/usr/bin/env python3
"""Regenerates ../ConsoleAssets.swift from the console's files here (served as is at /)."""
import pathlib

here = pathlib.Path(__file__).resolve().parent
files = [("index.html", "text/html; charset=utf-8"), ("console.css", "text/css; charset=utf-8"),
         ("console.js", "text/javascript; charset=utf-8")]
out = [
    "// Generated from Sources/NVLBManagement/Console/assets — do not edit here. After changing a file\n"
    "// there run  python3 Sources/NVLBManagement/Console/assets/embed.py  (a test fails while they differ).\n\n"
    "/// The console's static files (docs/console.md), compiled in: the binary needs no resource\n"
    "/// files next to it.\n"
    "enum ConsoleAssets {\n"
    "    /// Path → (content type, body).\n"
    "    static let files: [String: (contentType: String, body: String)] = [\n"
]
for name, kind in files:
    text = (here / name).read_text()
    assert '"""##' not in text and "\\##(" not in text
    body = "".join(("            " + line if line.strip() else "") + "\n" for line in text.splitlines())
    out.append(f'        "/{name}": (\n            "{kind}",\n            ##"""\n{body}            """##\n        ),\n')
out.append("    ]\n}\n")
(here.parent / "ConsoleAssets.swift").write_text("".join(out))
