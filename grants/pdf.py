"""HTML to PDF with WeasyPrint: the conventions, the submission receipts and the decision letters are
rendered from templates (``templates/pdf/_base.html`` sets the page) and read back in the tests."""

from __future__ import annotations

from flask import current_app, render_template


def render_pdf(template: str, **context) -> bytes:
    import weasyprint  # heavy: loaded when a PDF is made, not with the app

    html = render_template(template, **context)
    return weasyprint.HTML(string=html, base_url=current_app.root_path).write_pdf()


def pdf_response(content: bytes, name: str):
    """The PDF as a download, never cached (it names the applicant)."""
    response = current_app.response_class(content, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response
