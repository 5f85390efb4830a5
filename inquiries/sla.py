"""SLA targets: which policy applies to an inquiry and when its responses are due.

With business hours the clock runs only on the policy's business days between its start and end
time in the local time zone (settings.TIME_ZONE); otherwise it runs around the clock.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from inquiries.models import Inquiry, SlaPolicy
from inquiries.rulebook import rulebook


def policy_for(*, priority: str, channel: str) -> SlaPolicy | None:
    """The active policy for this priority and channel; a channel-specific one wins over the
    priority's any-channel one."""
    candidates = [
        policy
        for policy in rulebook().policies
        if policy.priority == priority and policy.channel in (channel, "")
    ]
    return min(candidates, key=lambda policy: policy.channel == "", default=None)


def add_working_minutes(start: datetime, minutes: int, policy: SlaPolicy) -> datetime:
    """`start` plus `minutes` of the policy's clock."""
    if not policy.business_hours_only:
        return start + timedelta(minutes=minutes)
    days = set(policy.business_days or [])
    if not days:
        return start + timedelta(minutes=minutes)
    local = timezone.localtime(start)
    remaining = timedelta(minutes=minutes)
    tz = local.tzinfo
    day = local.date()
    for _day in range(3660):  # ten years of calendar days: a policy always ends long before
        if day.isoweekday() in days:
            opens = datetime.combine(day, policy.business_day_start, tzinfo=tz)
            closes = datetime.combine(day, policy.business_day_end, tzinfo=tz)
            begin = max(opens, local)
            if begin < closes:
                available = closes - begin
                if remaining <= available:
                    return begin + remaining
                remaining -= available
        day += timedelta(days=1)
        local = datetime.combine(day, datetime.min.time(), tzinfo=tz)
    raise ValueError("The SLA policy has no business time.")


def apply_policy(inquiry: Inquiry) -> None:
    """Set the inquiry's policy and due times from its priority and channel, counted from its
    creation (not saved: the caller saves)."""
    policy = policy_for(priority=inquiry.priority, channel=inquiry.channel)
    inquiry.sla_policy = policy
    if policy is None:
        inquiry.first_response_due_at = None
        inquiry.resolution_due_at = None
        return
    inquiry.first_response_due_at = add_working_minutes(
        inquiry.created_at, policy.first_response_minutes, policy
    )
    inquiry.resolution_due_at = add_working_minutes(
        inquiry.created_at, policy.resolution_minutes, policy
    )
