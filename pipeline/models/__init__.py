"""Demand: campaigns and lead capture, lead imports, scoring and screening; the sales pipeline:
deals, quotes, daily reports."""

from pipeline.models.campaigns import Campaign, LeadForm
from pipeline.models.deals import (
    CLOSED_DEAL_STAGES,
    OPEN_DEAL_STAGES,
    Deal,
    DealStage,
    DealStageChange,
    DealStageSetting,
    DealStall,
    SalesPolicy,
)
from pipeline.models.imports import LeadImport
from pipeline.models.quotes import (
    Product,
    Quote,
    QuoteLine,
    QuoteNumberSequence,
    QuoteStatus,
    QuoteStatusChange,
)
from pipeline.models.reports import (
    Activity,
    ActivityKind,
    DailyReport,
    DailyReportStatusChange,
)
from pipeline.models.scoring import (
    FollowUpTask,
    LeadScore,
    LeadScoreChange,
    LeadSegment,
    ScoringRule,
    ScreeningPolicy,
)

__all__ = [
    "CLOSED_DEAL_STAGES",
    "OPEN_DEAL_STAGES",
    "Activity",
    "ActivityKind",
    "Campaign",
    "DailyReport",
    "DailyReportStatusChange",
    "Deal",
    "DealStage",
    "DealStageChange",
    "DealStageSetting",
    "DealStall",
    "FollowUpTask",
    "LeadForm",
    "LeadImport",
    "LeadScore",
    "LeadScoreChange",
    "LeadSegment",
    "Product",
    "Quote",
    "QuoteLine",
    "QuoteNumberSequence",
    "QuoteStatus",
    "QuoteStatusChange",
    "SalesPolicy",
    "ScoringRule",
    "ScreeningPolicy",
]
