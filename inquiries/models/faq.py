"""FAQ candidates mined from the inquiry logs, their review history, and the published FAQ.

A mining run (``inquiries.faq.services.faq_candidates_build``) groups the customers' first
questions and proposes one `FaqCandidate` per group, listing every member inquiry
(`FaqCandidateMember`). Agents accept a candidate (which publishes a `FaqEntry`), reject it with
a reason, or merge two candidates; each status change writes a `FaqCandidateChange` row.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class FaqCandidateStatus(models.TextChoices):
    NEW = "new", _("New (to review)")
    ACCEPTED = "accepted", _("Accepted (published)")
    REJECTED = "rejected", _("Rejected")
    MERGED = "merged", _("Merged into another candidate")


class FaqMethod(models.TextChoices):
    TFIDF = "tfidf", _("TF-IDF on character and word n-grams")
    EMBEDDINGS = "embeddings", _("Sentence embeddings")


FAQ_STATUS_VALUES = [value for value, _label in FaqCandidateStatus.choices]
FAQ_METHOD_VALUES = [value for value, _label in FaqMethod.choices]


class FaqEntry(models.Model):
    """One question and answer of the FAQ. Published entries are public (help page, chatbot)."""

    question = models.CharField(_("question"), max_length=500)
    answer = models.TextField(_("answer"))
    category = models.CharField(_("category"), max_length=100, blank=True, default="")
    is_published = models.BooleanField(_("published"), default=True)
    source_candidate = models.ForeignKey(
        "inquiries.FaqCandidate",
        verbose_name=_("from candidate"),
        on_delete=models.SET_NULL,
        related_name="faq_entries",
        null=True,
        blank=True,
        editable=False,
    )
    # Question and answer folded (NFKC, case-folded, spaces collapsed) for `?q=` search, so
    # full-width and half-width or upper and lower case match alike. Written by the services.
    search_text = models.TextField(_("search text"), blank=True, default="", editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        related_name="+",
        null=True,
        blank=True,
        editable=False,
    )
    published_at = models.DateTimeField(_("published at"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["category", "question", "id"]
        verbose_name = _("FAQ entry")
        verbose_name_plural = _("FAQ entries")
        indexes = [
            models.Index(fields=["is_published", "category"], name="faq_entry_published_idx"),
        ]

    def __str__(self) -> str:
        return self.question


class FaqCandidate(models.Model):
    """A group of inquiries asking the same thing, proposed as an FAQ entry.

    `signature` identifies the candidate across mining runs (a hash of the member set it was
    created with); a rerun matches its groups to existing candidates by shared members (or, for
    a group with new members, by the question) and updates them, so nothing is duplicated and a
    rejected candidate stays rejected.
    """

    status = models.CharField(
        _("status"),
        max_length=20,
        choices=FaqCandidateStatus.choices,
        default=FaqCandidateStatus.NEW,
        editable=False,
    )
    # 1 = the most asked new candidate of the latest run (volume, then total handling time;
    # those an FAQ entry already covers come last). Empty once reviewed.
    rank = models.PositiveIntegerField(_("rank"), null=True, blank=True, editable=False)
    question = models.CharField(_("representative question"), max_length=500)
    draft_answer = models.TextField(_("draft answer"), blank=True, default="")
    category = models.CharField(_("category"), max_length=100, blank=True, default="")
    volume = models.PositiveIntegerField(_("inquiries"), default=0, editable=False)
    total_handling_seconds = models.PositiveBigIntegerField(
        _("total handling time (seconds)"), default=0, editable=False
    )
    confidence = models.FloatField(_("confidence"), default=0.0, editable=False)
    covered_by = models.ForeignKey(
        FaqEntry,
        verbose_name=_("already covered by"),
        on_delete=models.SET_NULL,
        related_name="covered_candidates",
        null=True,
        blank=True,
        editable=False,
    )
    coverage_similarity = models.FloatField(
        _("similarity to that entry"), null=True, blank=True, editable=False
    )
    representative = models.ForeignKey(
        "inquiries.Inquiry",
        verbose_name=_("representative inquiry"),
        on_delete=models.SET_NULL,
        related_name="+",
        null=True,
        blank=True,
        editable=False,
    )
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        on_delete=models.PROTECT,
        related_name="merged_candidates",
        null=True,
        blank=True,
        editable=False,
    )
    reason = models.TextField(_("rejection reason"), blank=True, default="", editable=False)
    signature = models.CharField(_("signature"), max_length=64, unique=True, editable=False)
    method = models.CharField(
        _("method"), max_length=20, choices=FaqMethod.choices, default=FaqMethod.TFIDF
    )
    # The period of the latest mining run that produced or updated it (both days included).
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    mined_at = models.DateTimeField(_("mined at"), default=timezone.now, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["rank", "-volume", "id"]
        verbose_name = _("FAQ candidate")
        verbose_name_plural = _("FAQ candidates")
        permissions = [
            ("review_faqcandidate", "Can accept, reject and merge FAQ candidates"),
            ("build_faqcandidates", "Can mine FAQ candidates from the inquiry logs"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=FAQ_STATUS_VALUES), name="faq_candidate_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(method__in=FAQ_METHOD_VALUES), name="faq_candidate_method_valid"
            ),
            models.CheckConstraint(
                condition=Q(confidence__gte=0) & Q(confidence__lte=1),
                name="faq_candidate_confidence_range",
            ),
            models.CheckConstraint(
                condition=~Q(status="merged") | Q(merged_into__isnull=False),
                name="faq_candidate_merged_has_target",
            ),
            models.CheckConstraint(
                condition=Q(period_start__lte=models.F("period_end")),
                name="faq_candidate_period_ordered",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "rank"], name="faq_candidate_rank_idx"),
            models.Index(fields=["period_start", "period_end"], name="faq_candidate_period_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.question[:80]}"


class FaqCandidateMember(models.Model):
    """One inquiry of a candidate's group: the question as the miner read it (cleaned), how
    close it is to the group's centre, and whether it is the representative one. Rows copied
    from a candidate merged into this one name it in `merged_from`."""

    candidate = models.ForeignKey(
        FaqCandidate, verbose_name=_("candidate"), on_delete=models.CASCADE, related_name="members"
    )
    inquiry = models.ForeignKey(
        "inquiries.Inquiry",
        verbose_name=_("inquiry"),
        on_delete=models.CASCADE,
        related_name="faq_memberships",
    )
    question = models.TextField(_("question (cleaned)"))
    similarity = models.FloatField(_("similarity to the group"))
    is_representative = models.BooleanField(_("representative"), default=False)
    handling_seconds = models.PositiveBigIntegerField(_("handling time (seconds)"), default=0)
    merged_from = models.ForeignKey(
        FaqCandidate,
        verbose_name=_("merged from"),
        on_delete=models.CASCADE,
        related_name="+",
        null=True,
        blank=True,
    )

    class Meta:
        ordering = ["-is_representative", "-similarity", "id"]
        verbose_name = _("FAQ candidate member")
        verbose_name_plural = _("FAQ candidate members")
        constraints = [
            models.UniqueConstraint(
                fields=["candidate", "inquiry"], name="faq_candidate_member_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["candidate", "-similarity"], name="faq_member_candidate_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.candidate_id}: inquiry {self.inquiry_id}"


class FaqCandidateChange(models.Model):
    """A status change of a candidate: accepted, rejected (the reason), merged (into which)."""

    candidate = models.ForeignKey(
        FaqCandidate, on_delete=models.CASCADE, related_name="status_changes"
    )
    from_status = models.CharField(max_length=20, choices=FaqCandidateStatus.choices)
    to_status = models.CharField(max_length=20, choices=FaqCandidateStatus.choices)
    created_at = models.DateTimeField(_("at"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        related_name="+",
        null=True,
        blank=True,
    )
    note = models.TextField(_("note"), blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("FAQ candidate change")
        verbose_name_plural = _("FAQ candidate changes")
        constraints = [
            models.CheckConstraint(
                condition=Q(from_status__in=FAQ_STATUS_VALUES), name="faq_change_from_valid"
            ),
            models.CheckConstraint(
                condition=Q(to_status__in=FAQ_STATUS_VALUES), name="faq_change_to_valid"
            ),
            models.CheckConstraint(
                condition=~Q(from_status=models.F("to_status")),
                name="faq_change_status_changes",
            ),
        ]
        indexes = [
            models.Index(fields=["to_status", "created_at"], name="faq_change_to_idx"),
            models.Index(fields=["candidate", "created_at"], name="faq_change_candidate_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.candidate_id}: {self.from_status} → {self.to_status}"
