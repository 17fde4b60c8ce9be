"""The manager's KPI dashboard: the figures of the KPI service on screen, filters, drill-down to the very
requests counted, CSV of what is shown, weights, and who may see it."""

from __future__ import annotations

import csv
import io
import re

import pytest

from portal.services.reporting import kpi
from tests.services.test_kpi import NOVEMBER, world  # noqa: F401  (the hand-computed fixture)

NOV = "period=custom&start=2026-11-01&end=2026-11-30"


@pytest.mark.parametrize("role", ["customer", "customer_admin", "agent", "lead", "finance"])
def test_only_managers_and_admins(client, login_as, role):
    login_as(role)
    for path in ("/manager/", "/manager/requests?measure=resolved", "/manager/kpi.csv"):
        assert client.get(path).status_code == 403


def test_the_dashboard_shows_the_services_figures_with_charts(client, login_as, world):  # noqa: F811
    login_as("manager")
    page = client.get(f"/manager/?{NOV}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    found = kpi.assess(NOVEMBER)
    assert "3.67" in page and ">3<" in page  # mean rating, resolved
    assert "66.7%" in page and "1 missed" in page and "1 late" in page
    assert f">{found.composite}<" in page or f"{found.composite:.1f}" in page
    charts = re.findall(r'<svg id="t-[a-z_]+" class="chart" role="img" aria-labelledby="[^"]+"', page)
    assert len(charts) == 5
    assert re.search(r"<desc id=\"t-quality-desc\">[^<]*Nov: 66\.7%", page)  # the text alternative
    zh = client.get(f"/manager/?{NOV}", headers={"Accept-Language": "zh"}).get_data(as_text=True)
    assert "客户满意度" in zh and "11月" in zh


def test_account_filter_shows_the_cohort(client, login_as, world):  # noqa: F811
    a, b = world
    login_as("manager")
    page = client.get(f"/manager/?{NOV}&account={a.id}", headers={"Accept-Language": "en"}).get_data(
        as_text=True
    )
    assert "beside its cohort" in page and "Cohort composite" in page


@pytest.mark.parametrize(
    "measure, count", [("missed_sla", 1), ("resolved", 3), ("delivered_late", 1), ("low_rating", 1)]
)
def test_each_number_drills_down_to_its_requests(client, login_as, world, measure, count):  # noqa: F811
    login_as("manager")
    page = client.get(
        f"/manager/requests?{NOV}&measure={measure}", headers={"Accept-Language": "en"}
    ).get_data(as_text=True)
    assert len(re.findall(r'<td class="ref"><a href="/staff/requests/\d+">', page)) == count


def test_the_csv_has_what_is_shown(client, login_as, world):  # noqa: F811
    a, b = world
    login_as("manager")
    response = client.get(f"/manager/kpi.csv?{NOV}&account={a.id}")
    assert response.status_code == 200 and response.headers["Content-Disposition"].startswith("attachment")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == ["scope", "indicator", "measure", "value"]
    values = {(r[0], r[2]): r[3] for r in rows[1:]}
    assert values[("甲银行", "resolved")] == "2" and values[("cohort", "resolved")] == "2"
    assert values[("甲银行", "median_first_response_business_minutes")] == "180.0"


def test_weights_are_saved_and_bad_ones_refused(client, login_as, world):  # noqa: F811
    login_as("manager")
    data = {"satisfaction": "0", "quality": "1", "efficiency": "0", "relationship": "0", "value_added": "0"}
    assert client.post_form("/manager/weights", token_from="/manager/", data=data).status_code == 303
    assert kpi.weights()["satisfaction"] == 0
    client.post_form("/manager/weights", token_from="/manager/", data={**data, "quality": "0"})
    assert kpi.weights()["quality"] == 1  # all zero is refused
    client.post_form("/manager/weights", token_from="/manager/", data={**data, "quality": "500"})
    assert kpi.weights()["quality"] == 1
