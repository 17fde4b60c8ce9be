"""The back office's workbook on screen: the template to fill (in the reader's language), the check — row
by row what would be created or changed and every problem with its sheet, row and column — the import (only
when every row is valid), and the export of everything in the same form. The check's report is swapped in
below the form, so the chosen file stays chosen for "Import" (without JavaScript it is chosen again)."""

from __future__ import annotations

from flask import current_app, request
from flask_babel import gettext as _
from flask_login import current_user

from portal import web
from portal.admin import bp, forms
from portal.admin.views import admin_required
from portal.i18n import current_language
from portal.rendering import render, sends_file
from portal.services import audit
from portal.services.accounts import importing, workbook
from portal.services.errors import InvalidInput

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.get("/import")
@admin_required
def import_page():
    return render("admin/import.html", form=forms.ImportForm(formdata=None), check=None, done=False)


@bp.post("/import")
@admin_required
def import_workbook():
    form = forms.ImportForm()
    files = [(f.filename or "", f.read()) for f in (form.files.data or []) if f and f.filename]
    wants_import = request.form.get("step") == "import"
    check, status = None, 422
    try:
        if not files:
            raise InvalidInput("files", _("Choose the workbook, or the CSV files."))
        if sum(len(data) for _name, data in files) > current_app.config["UPLOAD_MAX_BYTES"]:
            raise InvalidInput("files", _("The files are too large to import at once."))
        if wants_import:
            check = importing.import_workbook(current_user, files, invite=bool(form.invite.data))
        else:
            check, _plan = importing.check_workbook(current_user, files)
        status = 200 if check.valid else 422
    except InvalidInput as error:
        web.show_errors(form, error.errors, fallback="files")
    done = wants_import and check is not None and check.valid
    return render("admin/import.html", block="report", form=form, check=check, done=done, status=status)


@bp.get("/import/template.xlsx")
@sends_file
@admin_required
def import_template():
    return web.download(workbook.template(current_language()), "accounts-template.xlsx", XLSX)


@bp.get("/export.xlsx")
@sends_file
@admin_required
def export_workbook():
    audit.log("accounts.exported", actor=current_user, ip_address=request.remote_addr or "")
    return web.download(workbook.export(current_language()), "accounts-export.xlsx", XLSX)
