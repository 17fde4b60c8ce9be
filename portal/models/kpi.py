"""Settings of the KPI assessment: the weight of each of the policy's five indicators in the composite."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, one_of

INDICATORS = ("satisfaction", "quality", "efficiency", "relationship", "value_added")


class KpiWeight(Base):
    __tablename__ = "kpi_weights"
    __table_args__ = (
        one_of("indicator", INDICATORS),
        CheckConstraint("weight >= 0 AND weight <= 100", name="weight_range"),
    )

    indicator: Mapped[str] = mapped_column(String(20), primary_key=True)
    weight: Mapped[int] = mapped_column(default=1)
