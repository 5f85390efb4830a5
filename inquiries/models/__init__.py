"""Experience: inquiries and their messages, escalations, SLAs, routing and inbound channels."""

from inquiries.models.channels import InboundChannel, MailboxCursor, QuarantinedEmail
from inquiries.models.escalations import (
    Escalation,
    EscalationChange,
    EscalationKind,
    EscalationStatus,
)
from inquiries.models.faq import (
    FaqCandidate,
    FaqCandidateChange,
    FaqCandidateMember,
    FaqCandidateStatus,
    FaqEntry,
    FaqMethod,
)
from inquiries.models.inquiries import (
    Inquiry,
    InquiryAssignment,
    InquiryChannel,
    InquiryPriority,
    InquiryStatus,
    InquiryStatusChange,
    Message,
    MessageDirection,
    PhoneCall,
)
from inquiries.models.routing import AssignmentRule, SavedReply
from inquiries.models.service_levels import SlaBreach, SlaPolicy

__all__ = [
    "AssignmentRule",
    "Escalation",
    "EscalationChange",
    "EscalationKind",
    "EscalationStatus",
    "FaqCandidate",
    "FaqCandidateChange",
    "FaqCandidateMember",
    "FaqCandidateStatus",
    "FaqEntry",
    "FaqMethod",
    "InboundChannel",
    "Inquiry",
    "InquiryAssignment",
    "InquiryChannel",
    "InquiryPriority",
    "InquiryStatus",
    "InquiryStatusChange",
    "MailboxCursor",
    "Message",
    "MessageDirection",
    "PhoneCall",
    "QuarantinedEmail",
    "SavedReply",
    "SlaBreach",
    "SlaPolicy",
]
