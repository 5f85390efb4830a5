"""The support side of the demo: inquiries that agree with the customers' timelines.

Every support interaction on a timeline (an agent's call, chat or email with a customer) is the
answer in an inquiry: the customer asked a little earlier (their message is on the timeline too),
the agent answered, and the inquiry was resolved and later closed. The last two weeks' are still
in the works (open, pending, escalated), and the last day brought new, unanswered ones to the
team queue. SLA policies, routing rules, saved replies and the chat and web-form channels are
set up as a support team would have them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.contenttypes.models import ContentType

from accounts.models import Contact, Team, Touchpoint
from frontoffice.management import demo_data as data
from frontoffice.management.demo_journeys import Period, Staff
from inquiries.models import (
    AssignmentRule,
    Escalation,
    EscalationChange,
    InboundChannel,
    Inquiry,
    InquiryAssignment,
    InquiryStatusChange,
    Message,
    SavedReply,
    SlaPolicy,
)
from inquiries.sla import add_working_minutes

CHANNEL_OF_KIND = {"call": "phone", "chat": "chat", "email": "email"}
TIMELINE_CHANNEL = {"phone": "phone", "chat": "chat", "email": "email", "web_form": "web"}
# Timeline summary -> (category, question in English and Japanese, answer in English and Japanese)
TOPICS: dict[str, tuple[str, str, str, str, str]] = {
    "Question about user set-up": (
        "account",
        "How do I add a new user and give them the sales role?",
        "新しいユーザーを追加して営業の権限を付与するにはどうすればよいですか。",
        "Open Settings > Users, click Add user and choose the Sales rep role.",
        "設定 > ユーザーから「ユーザーを追加」を押し、営業担当のロールを選んでください。",
    ),
    "Asked how to export reports": (
        "reports",
        "Can I export the monthly pipeline report to Excel?",
        "月次のパイプラインレポートをExcelに出力できますか。",
        "Yes: open the report and use Export > CSV; Excel opens it directly.",
        "はい、レポートを開いて「エクスポート > CSV」を選ぶとExcelで開けます。",
    ),
    "Investigated an import error": (
        "technical",
        "The contact import stops with an encoding error on line 1.",
        "連絡先のインポートが1行目で文字コードエラーになり止まります。",
        "The file was Shift_JIS; choose that encoding in the import form and run it again.",
        "ファイルがShift_JISでした。インポート画面で文字コードを指定して再実行してください。",
    ),
    "Invoice address changed": (
        "billing",
        "Please send our invoices to the new head office address from next month.",
        "来月から請求書の送付先を新しい本社住所に変更してください。",
        "Done: from next month's invoice on we use the new address.",
        "対応しました。来月の請求書から新しい住所でお送りします。",
    ),
    "Asked about the new release": (
        "product",
        "When is the next release, and does it include the KPI dashboard?",
        "次のリリースはいつですか。KPIダッシュボードは含まれますか。",
        "It ships at the end of the month and includes the dashboard.",
        "月末にリリース予定で、ダッシュボードも含まれます。",
    ),
}
NEW_QUESTIONS = (
    ("account", "I cannot log in since this morning.", "今朝からログインできません。"),
    ("billing", "We were charged twice this month.", "今月の請求が二重になっています。"),
    ("technical", "The mobile app crashes when I open a deal.", "商談を開くとアプリが落ちます。"),
    (
        "reports",
        "The dashboard shows last week's figures.",
        "ダッシュボードが先週の数字のままです。",
    ),
)
PRIORITY_WEIGHTS = {"low": 2, "normal": 6, "high": 2, "urgent": 0.5}
SLA_POLICIES = (
    # name, priority, first response minutes, resolution minutes, business hours only
    ("Urgent: around the clock", "urgent", 30, 4 * 60, False),
    ("High", "high", 2 * 60, 9 * 60, True),
    ("Normal", "normal", 4 * 60, 3 * 9 * 60, True),
    ("Low", "low", 9 * 60, 5 * 9 * 60, True),
)
SAVED_REPLIES = (
    (
        "Customer Support",
        "Thanks, looking into it",
        "Thank you for your message. We are looking into it and will get back to you today.",
    ),
    (
        "Customer Support",
        "受付のご連絡",
        "お問い合わせありがとうございます。担当者より本日中にご連絡いたします。",
    ),
    (
        "Technical Support",
        "Send the file",
        "Could you send us the file you imported (or its first lines) so we can reproduce the "
        "error?",
    ),
    (
        "Billing",
        "Invoice changes",
        "We have updated your billing details; the change applies from the next invoice.",
    ),
)
IN_WORK_DAYS = 14


@dataclass
class SupportSetup:
    teams: dict[str, Team]
    policies: dict[str, SlaPolicy]
    chat: InboundChannel


def create_support_setup(staff: Staff, teams: list[Team], *, period: Period) -> SupportSetup:
    """SLA policies, routing rules, saved replies, the chat widget and the web form."""
    by_name = {team.name: team for team in teams}
    support, technical, billing = (
        by_name["Customer Support"],
        by_name["Technical Support"],
        by_name["Billing"],
    )
    created_at = period.start - timedelta(days=30)
    policies = {
        priority: SlaPolicy.objects.create(
            name=name,
            priority=priority,
            first_response_minutes=first,
            resolution_minutes=resolution,
            business_hours_only=business,
            created_at=created_at,
        )
        for name, priority, first, resolution, business in SLA_POLICIES
    }
    AssignmentRule.objects.bulk_create(
        [
            AssignmentRule(name="Billing questions", position=10, team=billing,
                           category="billing", strategy="queue_only", created_at=created_at),
            AssignmentRule(name="Technical questions", position=20, team=technical,
                           category="technical", strategy="least_open", created_at=created_at),
            AssignmentRule(name="Everything else to Customer Support", position=100,
                           team=support, strategy="round_robin", created_at=created_at),
        ]
    )  # fmt: skip
    SavedReply.objects.bulk_create(
        SavedReply(team=by_name[team], title=title, body=body, created_at=created_at)
        for team, title, body in SAVED_REPLIES
    )
    chat = InboundChannel.objects.create(
        name="Website chat", kind="chat", team=support, created_at=created_at
    )
    InboundChannel.objects.create(
        name="Support contact form", kind="web_form", team=support, created_at=created_at
    )
    teams_of = {"Customer Support": support, "Technical Support": technical, "Billing": billing}
    return SupportSetup(teams=teams_of, policies=policies, chat=chat)


@dataclass
class Planned:
    inquiry: Inquiry
    messages: list[Message]
    statuses: list[tuple[str, str, datetime, int | None, str]]
    escalation: tuple[str, int, datetime, str] | None = None


def _japanese(contact: Contact) -> bool:
    return any(ord(char) > 0x2E80 for char in contact.name)


def _due(inquiry: Inquiry, policy: SlaPolicy) -> None:
    inquiry.sla_policy = policy
    inquiry.first_response_due_at = add_working_minutes(
        inquiry.created_at, policy.first_response_minutes, policy
    )
    inquiry.resolution_due_at = add_working_minutes(
        inquiry.created_at, policy.resolution_minutes, policy
    )


def _team_of_agent(staff: Staff, setup: SupportSetup, agent_id: int) -> Team:
    name = {staff.users[u].pk: u for u in data.TECHNICAL_AGENTS + data.BILLING_AGENTS}.get(agent_id)
    if name in data.TECHNICAL_AGENTS:
        return setup.teams["Technical Support"]
    if name in data.BILLING_AGENTS:
        return setup.teams["Billing"]
    return setup.teams["Customer Support"]


def plan_answered(
    rng: random.Random,
    answer: Touchpoint,
    contact: Contact,
    *,
    staff: Staff,
    setup: SupportSetup,
    period: Period,
) -> Planned:
    """The inquiry an agent's timeline interaction answered."""
    category, question_en, question_ja, answer_en, answer_ja = TOPICS[answer.summary]
    japanese = _japanese(contact)
    channel = CHANNEL_OF_KIND[answer.kind]
    asked_at = answer.occurred_at - timedelta(minutes=rng.randint(10, 240))
    priority = rng.choices(list(PRIORITY_WEIGHTS), weights=list(PRIORITY_WEIGHTS.values()))[0]
    inquiry = Inquiry(
        contact=contact,
        account_id=contact.account_id,
        channel=channel,
        subject=answer.summary,
        category=category,
        priority=priority,
        team=_team_of_agent(staff, setup, answer.actor_id),
        assignee_id=answer.actor_id,
        inbound_channel=setup.chat if channel == "chat" else None,
        conversation_id=f"demo-{answer.pk}" if channel == "chat" else "",
        created_at=asked_at,
        first_responded_at=answer.occurred_at,
        last_message_at=answer.occurred_at,
    )
    _due(inquiry, setup.policies[priority])
    messages = [
        Message(inquiry=inquiry, direction="inbound", channel=channel, author_contact=contact,
                subject=answer.summary, body=question_ja if japanese else question_en,
                created_at=asked_at),
        Message(inquiry=inquiry, direction="outbound", channel=channel,
                author_user_id=answer.actor_id, body=answer_ja if japanese else answer_en,
                created_at=answer.occurred_at, touchpoint=answer,
                delivery="sent" if channel == "email" else ""),
    ]  # fmt: skip
    statuses = [
        ("", "new", asked_at, None, ""),
        ("new", "open", answer.occurred_at, answer.actor_id, ""),
    ]
    age = period.end - answer.occurred_at
    planned = Planned(inquiry, messages, statuses)
    if age > timedelta(days=IN_WORK_DAYS) or rng.random() < 0.5:
        resolved_at = answer.occurred_at + timedelta(minutes=rng.randint(5, 60 * 24))
        resolved_at = min(resolved_at, period.end - timedelta(minutes=1))
        statuses.append(("open", "resolved", resolved_at, answer.actor_id, ""))
        inquiry.resolved_at = resolved_at
        closed_at = resolved_at + timedelta(days=3)
        if closed_at < period.end:
            statuses.append(
                ("resolved", "closed", closed_at, None, "closed 3 days after resolution")
            )
            inquiry.closed_at = closed_at
    elif rng.random() < 0.4:
        statuses.append(
            ("open", "pending", answer.occurred_at + timedelta(minutes=1), answer.actor_id, "")
        )
    elif rng.random() < 0.3:
        kind = rng.choice(("instructions", "approval", "transfer"))
        at = answer.occurred_at + timedelta(minutes=2)
        if kind == "transfer":  # the specialists' queue has it while they look into it
            inquiry.team = setup.teams["Technical Support"]
        statuses.append(("open", "escalated", at, None, f"escalation: {kind}"))
        planned.escalation = (
            kind,
            answer.actor_id,
            at,
            "Customer asks for an exception on the contract terms.",
        )
    inquiry.status = statuses[-1][1]
    inquiry.status_changed_at = statuses[-1][2]
    return planned


def plan_new(
    rng: random.Random, contact: Contact, *, setup: SupportSetup, period: Period
) -> Planned:
    """A question from the last day, not answered yet: in the team queue."""
    category, question_en, question_ja = rng.choice(NEW_QUESTIONS)
    channel = rng.choice(("email", "email", "web_form", "chat", "phone"))
    asked_at = period.end - timedelta(minutes=rng.randint(30, 24 * 60))
    priority = rng.choices(list(PRIORITY_WEIGHTS), weights=list(PRIORITY_WEIGHTS.values()))[0]
    team = {"billing": "Billing", "technical": "Technical Support"}.get(
        category, "Customer Support"
    )
    inquiry = Inquiry(
        contact=contact,
        account_id=contact.account_id,
        channel=channel,
        subject=question_en[:80],
        category=category,
        priority=priority,
        team=setup.teams[team],
        inbound_channel=setup.chat if channel == "chat" else None,
        conversation_id=f"demo-new-{contact.pk}" if channel == "chat" else "",
        created_at=asked_at,
        last_message_at=asked_at,
        status="new",
        status_changed_at=asked_at,
    )
    _due(inquiry, setup.policies[priority])
    body = question_ja if _japanese(contact) else question_en
    message = Message(inquiry=inquiry, direction="inbound", channel=channel,
                      author_contact=contact, subject=inquiry.subject, body=body,
                      created_at=asked_at)  # fmt: skip
    return Planned(inquiry, [message], [("", "new", asked_at, None, "")])


def create_inquiries(
    rng: random.Random, staff: Staff, setup: SupportSetup, *, period: Period
) -> int:
    """Inquiries from the agents' timeline interactions, and the last day's new ones."""
    agents = [staff.users[name].pk for name in (
        *data.FRONT_LINE_AGENTS, *data.TECHNICAL_AGENTS, *data.BILLING_AGENTS)]  # fmt: skip
    answers = list(
        Touchpoint.objects.filter(
            actor_id__in=agents, kind__in=list(CHANNEL_OF_KIND), summary__in=list(TOPICS)
        )
        .exclude(contact=None)
        .select_related("contact")
        .order_by("occurred_at", "id")
    )
    plans = [
        plan_answered(rng, answer, answer.contact, staff=staff, setup=setup, period=period)
        for answer in answers
    ]
    customers = list(
        Contact.objects.filter(stage__in=["customer", "promoter"])
        .order_by("id")
        .only("id", "name", "account_id")
    )
    for contact in rng.sample(customers, min(len(customers), max(1, len(customers) // 40))):
        plans.append(plan_new(rng, contact, setup=setup, period=period))
    write_inquiries(plans, staff=staff, setup=setup)
    return len(plans)


def write_inquiries(plans: list[Planned], *, staff: Staff, setup: SupportSetup) -> None:
    Inquiry.objects.bulk_create([plan.inquiry for plan in plans], batch_size=1000)
    message_type = ContentType.objects.get_for_model(Message)
    inbound = [m for plan in plans for m in plan.messages if m.direction == "inbound"]
    Message.objects.bulk_create([m for plan in plans for m in plan.messages], batch_size=1000)
    touchpoints = Touchpoint.objects.bulk_create(
        [
            Touchpoint(
                kind="inquiry_message",
                channel=TIMELINE_CHANNEL.get(message.channel, "other"),
                occurred_at=message.created_at,
                created_at=message.created_at,
                contact_id=message.inquiry.contact_id,
                account_id=message.inquiry.account_id,
                summary=f"[#{message.inquiry.pk}] {message.inquiry.subject}: {message.body}"[:300],
                source_type=message_type,
                source_id=message.pk,
            )
            for message in inbound
        ],
        batch_size=1000,
    )
    for message, touchpoint in zip(inbound, touchpoints, strict=True):
        message.touchpoint = touchpoint
    Message.objects.bulk_update(inbound, ["touchpoint"], batch_size=1000)
    InquiryStatusChange.objects.bulk_create(
        [
            InquiryStatusChange(inquiry=plan.inquiry, from_status=frm, to_status=to,
                                created_at=at, actor_id=actor, note=note)
            for plan in plans
            for frm, to, at, actor, note in plan.statuses
        ],
        batch_size=1000,
    )  # fmt: skip
    InquiryAssignment.objects.bulk_create(
        [
            InquiryAssignment(inquiry=plan.inquiry, to_assignee_id=plan.inquiry.assignee_id,
                              team=plan.inquiry.team, created_at=plan.inquiry.created_at,
                              note="routing rule")
            for plan in plans
        ],
        batch_size=1000,
    )  # fmt: skip
    escalated = [plan for plan in plans if plan.escalation]
    escalations = Escalation.objects.bulk_create(
        [_escalation(plan, staff=staff, setup=setup) for plan in escalated]
    )
    EscalationChange.objects.bulk_create(
        EscalationChange(escalation=escalation, from_status="", to_status="open",
                         created_at=escalation.created_at, actor_id=escalation.requested_by_id)
        for escalation in escalations
    )  # fmt: skip


def _escalation(plan: Planned, *, staff: Staff, setup: SupportSetup) -> Escalation:
    kind, requested_by, at, reason = plan.escalation
    support = setup.teams["Customer Support"]
    to_team = setup.teams["Technical Support"] if kind == "transfer" else None
    owner_id = (to_team or support).supervisor_id
    hours = {"transfer": 8, "instructions": 2, "approval": 4}[kind]
    return Escalation(
        inquiry=plan.inquiry,
        kind=kind,
        requested_by_id=requested_by,
        owner_id=owner_id,
        to_team=to_team,
        reason=reason,
        due_at=at + timedelta(hours=hours),
        created_at=at,
    )


def support_counts() -> dict[str, Any]:
    return {
        "inquiries": Inquiry.objects.count(),
        "messages": Message.objects.count(),
        "escalations": Escalation.objects.count(),
    }
