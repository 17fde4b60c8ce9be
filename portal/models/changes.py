"""How far the data has moved: one counter that every transaction changing what pages show raises at its
commit (``portal/changes.py``), so that a rendered page can be kept and served again until it does."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base


class DataVersion(Base):
    __tablename__ = "data_versions"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    version: Mapped[int] = mapped_column(default=0)
