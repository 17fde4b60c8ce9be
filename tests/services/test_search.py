"""Search: index terms, the index kept in the change's own transaction, short Chinese queries, literal
operators, ranking and marking — on whichever database the suite runs on (the permission matrix is in
tests/test_permissions.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import Contract, Deliverable, SearchEntry, TimelineEvent
from portal.services.search import finding, index
from portal.services.search.terms import Term, document_terms, query_terms
from tests.factories import department, make_account, make_contract, make_request, make_user


def test_chinese_is_indexed_by_character_pairs_and_the_end_of_each_run():
    assert document_terms("打印机故障，网") == "打印 印机 机故 故障 障 网"
    assert document_terms("Printer-5G ＡＢＣ１２ printer") == "printer 5g abc12"


@pytest.mark.parametrize(
    ("query", "terms"),
    [
        ("网", [Term("网", True)]),
        ("维修", [Term("维修", False)]),
        ("打印机", [Term("打印", False), Term("印机", False)]),
        ("Print 维修", [Term("print", True), Term("维修", False)]),
        ('%_"*" AND NEAR(', [Term("and", True), Term("near", True)]),
        ("% _ ' \" * ^ - :", []),
    ],
)
def test_a_query_is_terms_and_never_operators(query, terms):
    assert query_terms(query) == terms


@pytest.fixture
def customer():
    return make_user("customer")


def _found(user, query) -> set[str]:
    results = finding.search(user, query)
    return {hit.details["reference"] for hit in results.sections.get("requests", [])}


def test_one_and_two_character_chinese_queries_find_what_holds_them(customer):
    network = make_request(customer, title="网络中断", description="机房的交换机没有响应")
    repair = make_request(customer, title="打印机维修", description="卡纸")
    other = make_request(customer, title="Quarterly report", description="ordinary words")
    assert _found(customer, "网") == {network.reference}
    assert _found(customer, "机") == {
        network.reference,
        repair.reference,
    }  # 交换机 ends a run, 机房 starts one
    assert _found(customer, "维修") == {repair.reference}
    assert _found(customer, "卡纸") == {repair.reference}
    assert _found(customer, "交换机") == {network.reference}
    assert _found(customer, "repo") == {other.reference}  # a word is found by its beginning
    assert _found(customer, "eport") == set()
    assert _found(customer, "打印 卡纸") == {repair.reference}  # every word must match
    assert _found(customer, "打印 网络") == set()


def test_operators_and_wildcards_are_only_text(customer):
    literal = make_request(customer, title="50% off AND NEAR the_end", description='"quoted"')
    make_request(customer, title="something else", description="entirely")
    assert _found(customer, "%") == set()  # punctuation alone finds nothing, never everything
    assert finding.search(customer, "%").terms == []
    assert _found(customer, "_") == set()
    assert _found(customer, "50%") == {literal.reference}
    assert _found(customer, "AND") == {literal.reference}
    assert _found(customer, "NEAR(") == {literal.reference}
    assert _found(customer, '"quoted') == {literal.reference}
    assert _found(customer, "*") == set()
    assert _found(customer, "OR") == set()


def test_replies_and_notes_are_found_and_notes_only_by_staff(customer):
    request = make_request(customer, title="Access", department_id=department("after_sales").id)
    db.session.add_all(
        [
            TimelineEvent(
                request_id=request.id, kind="public_reply", body="请重启路由器", actor_id=customer.id
            ),
            TimelineEvent(
                request_id=request.id, kind="internal_note", internal=True, body="客户的防火墙配置有误"
            ),
        ]
    )
    db.session.commit()
    agent = make_user("agent", departments=["after_sales"])
    assert _found(customer, "路由") == {request.reference}
    assert _found(customer, "防火墙") == set()
    assert _found(agent, "防火墙") == {request.reference}
    hit = finding.search(agent, "防火墙").sections["requests"][0]
    assert hit.kind == "note"
    assert ("防火墙", True) in hit.text


def test_the_index_follows_changes_in_their_own_transaction(customer):
    request = make_request(customer, title="旧的标题")
    request.title = "新的标题"
    db.session.commit()
    assert _found(customer, "新的") == {request.reference}
    assert _found(customer, "旧的") == set()
    request.title = "回滚的标题"
    db.session.flush()
    assert _found(customer, "回滚") == {request.reference}  # seen inside the transaction …
    db.session.rollback()
    assert _found(customer, "回滚") == set()  # … and gone with it
    assert _found(customer, "新的") == {request.reference}


def test_an_unchanged_request_keeps_its_entry(customer):
    request = make_request(customer, title="打印机")
    entry_id = db.session.scalar(select(SearchEntry.id).where(SearchEntry.kind == "request"))
    request.status = "in_progress"
    db.session.commit()
    assert db.session.scalar(select(SearchEntry.id).where(SearchEntry.kind == "request")) == entry_id


def test_rebuild_makes_the_entries_the_session_made(customer):
    request = make_request(customer, title="打印机 printer", description="卡纸 jam")
    db.session.add(TimelineEvent(request_id=request.id, kind="public_reply", body="已更换硒鼓"))
    db.session.add(TimelineEvent(request_id=request.id, kind="status_changed", body=""))
    make_contract(customer.account, title="年度维保合同")
    db.session.commit()

    def entries() -> set[tuple]:
        rows = db.session.execute(select(SearchEntry.kind, SearchEntry.object_id, SearchEntry.grams))
        return {tuple(row) for row in rows}

    made = entries()
    assert {kind for kind, _id, _grams in made} == {"request", "reply", "account", "contract"}
    assert index.rebuild(db.session.connection()) == len(made)
    db.session.commit()
    assert entries() == made
    assert _found(customer, "硒鼓") == {request.reference}
    assert index.missing(db.session.connection()) == 0


def test_the_title_counts_more_than_the_text_and_newer_breaks_ties(customer):
    in_text = make_request(customer, title="Other", description="服务器宕机")
    in_title = make_request(customer, title="服务器宕机", description="Other")
    newer_in_text = make_request(customer, title="Other", description="服务器宕机")
    hits = finding.search(customer, "宕机").sections["requests"]
    assert [h.details["reference"] for h in hits] == [
        in_title.reference,
        newer_in_text.reference,
        in_text.reference,
    ]
    assert hits[0].title == [("服务器", False), ("宕机", True)]


def test_a_match_is_marked_on_what_was_written(customer):
    assert finding._marked("打印机ＰＲＩＮＴＥＲ卡纸了", ["printer", "卡纸"]) == [
        ("打印机", False),
        ("ＰＲＩＮＴＥＲ卡纸", True),
        ("了", False),
    ]
    long = "前言" * 200 + "关键字" + "后记" * 200
    snippet = finding._marked(long, ["关键"], window=40)
    assert snippet[0] == ("…", False) and snippet[-1] == ("…", False)
    assert ("关键", True) in snippet
    assert sum(len(text) for text, _ in snippet) < 50


def test_reports_accounts_and_contracts(customer):
    account = customer.account
    account.name = "华东电网有限公司"
    db.session.commit()
    request = make_request(customer, category="value_added", subtype="market_analysis", title="分析")
    from portal.models import Attachment

    attachment = Attachment(
        request_id=request.id,
        original_name="r.pdf",
        stored_name="r" * 64,
        size_bytes=1,
        sha256="0" * 64,
        content_type="application/pdf",
    )
    db.session.add(attachment)
    db.session.flush()
    db.session.add(
        Deliverable(request_id=request.id, attachment_id=attachment.id, title="电网市场季报", summary="摘要")
    )
    draft = make_contract(account, title="电网维保续约", state="draft")
    signed = make_contract(account, title="电网维保合同")
    admin = make_user("admin")
    staff = finding.search(admin, "电网")
    assert [h.object_id for h in staff.sections["accounts"]] == [account.id]
    assert {h.object_id for h in staff.sections["contracts"]} == {draft.id, signed.id}
    assert [h.title for h in staff.sections["reports"]] == [[("电网", True), ("市场季报", False)]]
    mine = finding.search(customer, "电网")
    assert "accounts" not in mine.sections  # a customer's own account is no search result
    assert [h.object_id for h in mine.sections["contracts"]] == [signed.id]  # never a draft
    assert len(mine.sections["reports"]) == 1
    assert db.session.get(Contract, draft.id) is not None


def test_a_search_is_a_few_statements_however_much_matches(customer, count_queries):
    for n in range(30):
        request = make_request(customer, title=f"网络 {n}")
        db.session.add(TimelineEvent(request_id=request.id, kind="public_reply", body="网络恢复"))
    db.session.commit()
    admin = make_user("admin")
    assert admin.role == "admin"  # loaded before counting, as the signed-in user is
    with count_queries() as counted:
        results = finding.search(admin, "网络")
    assert len(results.sections["requests"]) == finding.SHOWN["requests"]
    assert "requests" in results.more
    # requests, their details, reports, accounts, contracts (and on PostgreSQL whether the word is common)
    assert counted.n <= 6, counted.statements


def test_many_matches_show_the_best_of_the_newest(customer, monkeypatch):
    monkeypatch.setattr(finding, "CANDIDATES", 5)
    made = [make_request(customer, title=f"故障 {n}") for n in range(8)]
    found = _found(customer, "故障")
    assert found == {r.reference for r in made[-5:]}
    assert "requests" in finding.search(customer, "故障").more


def test_an_account_renamed_is_found_by_its_new_name():
    account = make_account(name="旧名称公司")
    admin = make_user("admin")
    account.name = "新名称集团"
    db.session.commit()
    assert [h.object_id for h in finding.search(admin, "集团").sections["accounts"]] == [account.id]
    assert finding.search(admin, "旧名").sections["accounts"] == []
