"""The data every deployment starts with: departments, the policy's default routing split, SLA targets,
the business calendar, the return-visit cadence and the default survey templates. Idempotent."""

from __future__ import annotations

from datetime import time

from sqlalchemy import func, select

from portal.extensions import db
from portal.models import (
    BusinessCalendar,
    Department,
    MailIntake,
    ReturnVisitCadence,
    RoutingRule,
    SlaPolicy,
    SurveyQuestion,
    SurveyTemplate,
)
from portal.services.requests import routing
from portal.services.unit_of_work import use_case

DEPARTMENT_NAMES = {
    "sales": ("销售部", "Sales"),
    "marketing": ("市场部", "Marketing"),
    "tech_support": ("技术支持部", "Technical Support"),
    "after_sales": ("售后服务部", "After-Sales Service"),
    "delivery": ("执行部门（交付）", "Delivery"),
    "finance": ("财务部", "Finance"),
}

# The policy's own split (DESIGN.md §4): (category, subtype or None for all) -> department.
DEFAULT_ROUTES: list[tuple[str, str | None, str]] = [
    ("pre_sale", "consultation", "sales"),
    ("pre_sale", "quotation", "sales"),
    ("pre_sale", "solution_design", "tech_support"),
    ("pre_sale", "technical_support", "tech_support"),
    ("on_site", None, "delivery"),
    ("after_sale", "troubleshooting", "after_sales"),
    ("after_sale", "warranty", "after_sales"),
    ("after_sale", "technical_support", "tech_support"),
    ("value_added", "industry_news", "marketing"),
    ("value_added", "market_analysis", "marketing"),
    ("value_added", "custom_report", "marketing"),
    ("value_added", "custom_service", "sales"),
]

# Strategic targets in hours (first response, resolution); key doubles them, ordinary triples them.
STRATEGIC_SLA_HOURS = {"urgent": (1, 8), "high": (2, 16), "normal": (4, 24), "low": (8, 40)}
TIER_SLA_FACTOR = {"strategic": 1, "key": 2, "ordinary": 3}
CADENCE_MONTHS = {"strategic": 1, "key": 3, "ordinary": 6}

CSAT_QUESTIONS = [
    (
        "rating",
        "rating",
        "您对本次服务的总体满意度如何？",
        "How satisfied are you with this service overall?",
    ),
    ("yes_no", "solved", "您的问题是否已解决？", "Was your problem solved?"),
    ("text", "comment", "还有什么想告诉我们的吗？", "Anything else you would like to tell us?"),
]
RELATIONSHIP_QUESTIONS = [
    ("nps", "nps", "您有多大可能向同行推荐我们？", "How likely are you to recommend us to a colleague?"),
    (
        "rating",
        "topic_satisfaction",
        "客户满意度：您对我们整体服务的满意程度",
        "Customer satisfaction: our service overall",
    ),
    (
        "rating",
        "topic_quality",
        "服务质量：我们交付的质量",
        "Service quality: the quality of what we deliver",
    ),
    (
        "rating",
        "topic_efficiency",
        "服务效率：我们响应和解决的速度",
        "Service efficiency: how fast we respond and resolve",
    ),
    (
        "rating",
        "topic_relationship",
        "客户关系维护：我们与您保持联系的程度",
        "Relationship: how well we keep in touch",
    ),
    (
        "rating",
        "topic_value_added",
        "增值服务：报告与资讯对您的价值",
        "Value-added services: the value of our reports and news",
    ),
    ("text", "comment", "您对我们有什么建议？", "What should we do better?"),
]


@use_case
def ensure_reference_data() -> None:
    departments = _ensure_departments()
    _ensure_routing_rules(departments)
    _ensure_sla_policies()
    _ensure_calendar()
    _ensure_cadences()
    if db.session.get(MailIntake, 1) is None:
        db.session.add(routing.mail_intake())
    _ensure_survey_template(
        "csat_default", "csat", "服务满意度调查", "Service satisfaction survey", CSAT_QUESTIONS
    )
    _ensure_survey_template(
        "relationship_default", "relationship", "客户关系调查", "Relationship survey", RELATIONSHIP_QUESTIONS
    )


def _ensure_departments() -> dict[str, Department]:
    existing = {d.code: d for d in db.session.scalars(select(Department))}
    for code, (name_zh, name_en) in DEPARTMENT_NAMES.items():
        if code not in existing:
            existing[code] = Department(code=code, name_zh=name_zh, name_en=name_en)
            db.session.add(existing[code])
    db.session.flush()
    return existing


def _ensure_routing_rules(departments: dict[str, Department]) -> None:
    if db.session.scalar(select(func.count(RoutingRule.id))):
        return  # an admin's rules are theirs; defaults only seed an empty list
    for position, (category, subtype, department) in enumerate(DEFAULT_ROUTES):
        db.session.add(
            RoutingRule(
                position=position * 10,
                name=f"{category}/{subtype or '*'} → {department}",
                category=category,
                subtype=subtype,
                department=departments[department],
            )
        )


def _ensure_sla_policies() -> None:
    existing = {(p.tier, p.priority) for p in db.session.scalars(select(SlaPolicy))}
    for tier, factor in TIER_SLA_FACTOR.items():
        for priority, (response_h, resolution_h) in STRATEGIC_SLA_HOURS.items():
            if (tier, priority) not in existing:
                db.session.add(
                    SlaPolicy(
                        tier=tier,
                        priority=priority,
                        first_response_minutes=response_h * 60 * factor,
                        resolution_minutes=resolution_h * 60 * factor,
                    )
                )


def _ensure_calendar() -> None:
    if db.session.scalar(select(func.count(BusinessCalendar.id))):
        return
    db.session.add(
        BusinessCalendar(
            name="default",
            timezone="Asia/Shanghai",
            workday_start=time(9, 0),
            workday_end=time(18, 0),
            working_weekdays="12345",
            use_public_holidays=True,
            holiday_country="CN",
        )
    )


def _ensure_cadences() -> None:
    existing = {c.tier for c in db.session.scalars(select(ReturnVisitCadence))}
    for tier, months in CADENCE_MONTHS.items():
        if tier not in existing:
            db.session.add(ReturnVisitCadence(tier=tier, months=months))


def _ensure_survey_template(
    code: str, kind: str, name_zh: str, name_en: str, questions: list[tuple[str, str, str, str]]
) -> None:
    if db.session.scalar(select(SurveyTemplate.id).where(SurveyTemplate.code == code)):
        return
    template = SurveyTemplate(code=code, kind=kind, name_zh=name_zh, name_en=name_en)
    template.questions = [
        SurveyQuestion(position=i, kind=k, code=qcode, text_zh=zh, text_en=en, required=k != "text")
        for i, (k, qcode, zh, en) in enumerate(questions, start=1)
    ]
    db.session.add(template)
