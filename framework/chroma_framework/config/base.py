"""Base model for config sections: unknown keys are errors, values are validated."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """A config section; a mistyped key fails with its YAML path."""

    model_config = ConfigDict(extra="forbid")
