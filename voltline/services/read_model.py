"""The base of every block's read model: what the API and the dashboard are shown.

Read models are pydantic models so that the REST API's output models can be the very same
classes (or subclasses adding nothing but documentation): a field is declared once, here."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ReadModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)
