"""Per-student feedback pages: every test's outcome and message, never the test code."""

from __future__ import annotations

import html

_STATUS_COLOURS = {
    "passed": "#1a7f37",
    "failed": "#cf222e",
    "error": "#9a6700",
    "timeout": "#9a6700",
}

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Feedback for {student}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; color: #1f2328; }}
table {{ border-collapse: collapse; width: 100%; margin-bottom: 2rem; }}
th, td {{ border-bottom: 1px solid #d0d7de; padding: .4rem .6rem; text-align: left;
          vertical-align: top; }}
td.status {{ font-weight: 600; white-space: nowrap; }}
.message {{ white-space: pre-wrap; }}
</style></head><body>
<h1>Feedback for {student}</h1>
{sections}
</body></html>
"""


def _section(result: dict) -> str:
    rows = []
    for test in result.get("tests", []):
        colour = _STATUS_COLOURS.get(test["status"], "#1f2328")
        rows.append(
            f"<tr><td>{html.escape(test['id'])}</td>"
            f"<td class='status' style='color:{colour}'>{html.escape(test['status'])}</td>"
            f"<td>{test['points']:g} / {test['max_points']:g}</td>"
            f"<td class='message'>{html.escape(test.get('message') or '')}</td></tr>"
        )
    note = ""
    if result.get("error"):
        note = f"<p><strong>Not graded:</strong> {html.escape(result['error'])}</p>"
    warnings = "".join(f"<li>{html.escape(w)}</li>" for w in result.get("warnings", []))
    if warnings:
        note += f"<p>Notes from the grader:</p><ul>{warnings}</ul>"
    return (
        f"<h2>{html.escape(result['notebook'])}: {result['score']:g} / "
        f"{result['max_score']:g}</h2>{note}"
        f"<table><tr><th>test</th><th>outcome</th><th>points</th><th>message</th></tr>"
        f"{''.join(rows)}</table>"
    )


def render(student: str, results: list[dict]) -> str:
    """The HTML feedback page of one student over all their graded notebooks."""
    sections = "\n".join(
        _section(result) for result in sorted(results, key=lambda r: r["notebook"])
    )
    return _PAGE.format(student=html.escape(student), sections=sections)
