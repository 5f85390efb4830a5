"""Admin for FAQ candidates (by rank, with their members and history; accept, reject, merge)
and FAQ entries. Every write goes through ``inquiries.faq.services``, as in the API."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from frontoffice.admin_actions import ReadOnlyAdminMixin, run_action_form
from frontoffice.errors import ApplicationError
from inquiries.faq import services
from inquiries.models import FaqCandidate, FaqCandidateChange, FaqCandidateMember, FaqEntry

MEMBERS_SHOWN = 20


def _error_text(exc: ApplicationError) -> str:
    detail = "; ".join(message for errors in exc.errors.values() for message in errors)
    return detail or exc.message


def _hours(seconds: int) -> str:
    return f"{seconds / 3600:.1f} h"


class FaqCandidateChangeInline(admin.TabularInline):
    model = FaqCandidateChange
    fk_name = "candidate"
    fields = ["created_at", "from_status", "to_status", "actor", "note"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    ordering = ["-created_at", "-id"]
    verbose_name_plural = _("review history")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


class FaqAcceptForm(forms.Form):
    question = forms.CharField(
        max_length=500,
        required=False,
        label=_("Question"),
        help_text=_("Empty: each candidate's representative question."),
    )
    answer = forms.CharField(
        widget=forms.Textarea,
        required=False,
        label=_("Answer"),
        help_text=_("Empty: each candidate's draft answer."),
    )
    category = forms.CharField(
        max_length=100,
        required=False,
        label=_("Category"),
        help_text=_("Empty: each candidate's category."),
    )


class FaqRejectForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea, max_length=services.REASON_MAX_LENGTH, label=_("Reason")
    )


@admin.register(FaqCandidate)
class FaqCandidateAdmin(admin.ModelAdmin):
    """Candidates by rank. Fields are changed only by the review actions (accept edits the
    question and answer on the way to the FAQ)."""

    list_display = [
        "rank",
        "short_question",
        "status",
        "volume",
        "handling_time",
        "confidence",
        "category",
        "covered_by",
        "period_end",
    ]
    list_display_links = ["short_question"]
    list_filter = ["status", "method", ("covered_by", admin.EmptyFieldListFilter), "category"]
    search_fields = ["question", "draft_answer"]
    list_select_related = ["covered_by"]
    ordering = ["rank", "-volume", "id"]
    inlines = [FaqCandidateChangeInline]
    actions = ["accept", "reject", "merge"]
    fields = [
        "question",
        "draft_answer",
        "category",
        "status",
        "rank",
        "volume",
        "handling_time",
        "confidence",
        "covered_by",
        "coverage_similarity",
        "representative",
        "member_list",
        "merged_into",
        "reason",
        "method",
        "period_start",
        "period_end",
        "mined_at",
        "created_at",
    ]
    readonly_fields = fields

    @admin.display(description=_("question"), ordering="question")
    def short_question(self, obj: FaqCandidate) -> str:
        return obj.question if len(obj.question) <= 100 else obj.question[:99] + "…"

    @admin.display(description=_("total handling time"), ordering="total_handling_seconds")
    def handling_time(self, obj: FaqCandidate) -> str:
        return _hours(obj.total_handling_seconds)

    @admin.display(description=_("member inquiries"))
    def member_list(self, obj: FaqCandidate) -> str:
        rows = (
            FaqCandidateMember.objects.filter(candidate=obj)
            .select_related("inquiry")
            .order_by("-is_representative", "-similarity", "id")[:MEMBERS_SHOWN]
        )
        items = format_html_join(
            "",
            '<li><a href="{}">#{}</a> ({}{}) {}</li>',
            (
                (
                    reverse("admin:inquiries_inquiry_change", args=[row.inquiry_id]),
                    row.inquiry_id,
                    f"{row.similarity:.2f}",
                    ", representative" if row.is_representative else "",
                    row.question[:160],
                )
                for row in rows
            ),
        )
        everything = reverse("admin:inquiries_faqcandidatemember_changelist")
        return format_html(
            '<ul>{}</ul><a href="{}?candidate__id__exact={}">{}</a>',
            items,
            everything,
            obj.pk,
            _("All %(count)d member inquiries") % {"count": obj.volume},
        )

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser

    def has_review_permission(self, request) -> bool:
        return request.user.has_perm("inquiries.review_faqcandidate")

    def _each(self, request, queryset, work, done_message) -> None:
        done = 0
        for candidate in queryset:
            try:
                work(candidate)
                done += 1
            except ApplicationError as exc:
                self.message_user(request, f"{candidate}: {_error_text(exc)}", messages.WARNING)
        self.message_user(request, done_message % {"count": done})

    @admin.action(description=_("Accept and publish…"), permissions=["review"])
    def accept(self, request: HttpRequest, queryset) -> HttpResponse | None:
        initial = None
        if queryset.count() == 1:
            only = queryset.get()
            initial = {
                "question": only.question,
                "answer": only.draft_answer,
                "category": only.category,
            }
        if "apply" not in request.POST:
            form = FaqAcceptForm(initial=initial)
            return run_action_form(
                self, request, queryset, form, title=_("Publish as FAQ entries"), action="accept"
            )
        form = FaqAcceptForm(request.POST)
        if not form.is_valid():
            return run_action_form(
                self, request, queryset, form, title=_("Publish as FAQ entries"), action="accept"
            )
        edits = {name: value for name, value in form.cleaned_data.items() if value.strip()}

        def work(candidate):
            services.faq_candidate_accept(candidate=candidate, actor=request.user, **edits)

        self._each(request, queryset, work, _("Published %(count)d FAQ entry(ies)."))
        return None

    @admin.action(description=_("Reject…"), permissions=["review"])
    def reject(self, request: HttpRequest, queryset) -> HttpResponse | None:
        form = FaqRejectForm(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            return run_action_form(
                self, request, queryset, form, title=_("Reject FAQ candidates"), action="reject"
            )

        def work(candidate):
            services.faq_candidate_reject(
                candidate=candidate, actor=request.user, reason=form.cleaned_data["reason"]
            )

        self._each(request, queryset, work, _("Rejected %(count)d candidate(s)."))
        return None

    @admin.action(
        description=_("Merge into the best ranked of the selection"), permissions=["review"]
    )
    def merge(self, request: HttpRequest, queryset) -> None:
        chosen = sorted(
            queryset,
            key=lambda c: (c.rank is None, c.rank or 0, -c.volume, c.pk),
        )
        if len(chosen) < 2:
            self.message_user(request, _("Select two candidates or more."), messages.WARNING)
            return
        survivor, others = chosen[0], chosen[1:]

        def work(other):
            services.faq_candidate_merge(candidate=survivor, other=other, actor=request.user)

        self._each(
            request, others, work, _("Merged %(count)d candidate(s) into ") + f"#{survivor.pk}."
        )


@admin.register(FaqCandidateMember)
class FaqCandidateMemberAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The inquiries of each candidate (written by the mining runs and merges)."""

    list_display = [
        "candidate",
        "inquiry",
        "short_question",
        "similarity",
        "is_representative",
        "merged_from",
    ]
    list_filter = ["is_representative"]
    search_fields = ["question"]
    list_select_related = ["candidate", "inquiry", "merged_from"]
    raw_id_fields = ["candidate", "inquiry", "merged_from"]
    ordering = ["candidate", "-is_representative", "-similarity", "id"]

    @admin.display(description=_("question"))
    def short_question(self, obj: FaqCandidateMember) -> str:
        return obj.question if len(obj.question) <= 120 else obj.question[:119] + "…"

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class FaqEntryAdminForm(forms.ModelForm):
    class Meta:
        model = FaqEntry
        fields = ["question", "answer", "category", "is_published"]


@admin.register(FaqEntry)
class FaqEntryAdmin(admin.ModelAdmin):
    form = FaqEntryAdminForm
    list_display = ["question", "category", "is_published", "source_candidate", "updated_at"]
    list_filter = ["is_published", "category"]
    search_fields = ["question", "answer"]
    list_select_related = ["source_candidate"]
    readonly_fields = ["source_candidate", "created_by", "published_at", "created_at", "updated_at"]
    fields = ["question", "answer", "category", "is_published", *readonly_fields]
    actions = ["publish", "unpublish"]

    def save_model(self, request, obj, form, change):
        values = {name: form.cleaned_data[name] for name in services.FAQ_ENTRY_FIELDS}
        if change:
            services.faq_entry_update(entry=obj, **values)
            return
        created = services.faq_entry_create(actor=request.user, **values)
        obj.pk, obj._state.adding = created.pk, False

    def _publish(self, request, queryset, published: bool, done_message) -> None:
        for entry in queryset:
            services.faq_entry_update(entry=entry, is_published=published)
        self.message_user(request, done_message % {"count": len(queryset)})

    @admin.action(description=_("Publish"), permissions=["change"])
    def publish(self, request, queryset) -> None:
        self._publish(request, queryset, True, _("Published %(count)d entry(ies)."))

    @admin.action(description=_("Unpublish"), permissions=["change"])
    def unpublish(self, request, queryset) -> None:
        self._publish(request, queryset, False, _("Unpublished %(count)d entry(ies)."))
