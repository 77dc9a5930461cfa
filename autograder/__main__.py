import sys

# For speed: jsonschema, which nbformat imports, loads rfc3987_syntax where it is installed, only
# to check the "iri" string format, which nbformat's validation never asks for; that import
# compiles 38 grammars, 1.6 s of every command (and of every grading process forked from it).
# None in sys.modules makes the import fail, and jsonschema goes on without that format.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[assignment]

from .cli import run  # noqa: E402

run()
