"""The report library (报告库): every delivered report the user may see, searchable, downloadable."""

from __future__ import annotations

from flask import request, url_for
from flask_login import current_user

from portal import permissions, web
from portal.access import customer_required, deliverable_for_customer
from portal.customer import bp, forms
from portal.rendering import render, sends_file
from portal.services.engagement import reports


@bp.get("/reports")
@customer_required
def report_library():
    form = forms.ReportFilterForm(request.args)
    form.validate()  # a bad date is marked and left out; the rest still filters
    filters = reports.LibraryFilters(
        search=(form.q.data or "").strip() or None,
        kind=form.kind.data or None,
        published_from=None if form.published_from.errors else form.published_from.data,
        published_to=None if form.published_to.errors else form.published_to.data,
    )
    page = reports.library_page(
        permissions.visible_requests(current_user),
        filters,
        request.args.get("page", 1, type=web.whole_number),
        current_user.timezone or "Asia/Shanghai",
    )
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render(
        "customer/reports.html",
        block="results",
        form=form,
        page=page,
        page_url=lambda n: url_for("customer.report_library", **args, page=n),
    )


@bp.get("/reports/<int:deliverable_id>/download")
@sends_file
@customer_required
def download_report(deliverable_id: int):
    deliverable = deliverable_for_customer(deliverable_id)
    reports.record_download(deliverable, current_user, request.remote_addr or "")
    return web.send_stored(deliverable.attachment)
