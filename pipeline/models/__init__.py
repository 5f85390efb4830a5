"""Demand: campaigns and lead capture, lead imports, scoring and screening."""

from pipeline.models.campaigns import Campaign, LeadForm
from pipeline.models.imports import LeadImport
from pipeline.models.scoring import (
    FollowUpTask,
    LeadScore,
    LeadScoreChange,
    LeadSegment,
    ScoringRule,
    ScreeningPolicy,
)

__all__ = [
    "Campaign",
    "FollowUpTask",
    "LeadForm",
    "LeadImport",
    "LeadScore",
    "LeadScoreChange",
    "LeadSegment",
    "ScoringRule",
    "ScreeningPolicy",
]
