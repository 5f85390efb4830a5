"""Admin for the product catalogue and quotes. Quotes are saved through ``pipeline.quotes`` (the
service numbers them and computes the totals); lines are edited only while the quote is a draft;
sending, accepting and rejecting are actions. Each user sees the quotes ``pipeline.selectors``
shows them."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from frontoffice.admin_actions import ReadOnlyAdminMixin, run_action_form
from frontoffice.errors import ApplicationError
from pipeline import quotes, selectors
from pipeline.models import (
    OPEN_DEAL_STAGES,
    Product,
    Quote,
    QuoteLine,
    QuoteStatus,
    QuoteStatusChange,
)

# --- Products -----------------------------------------------------------------------------------


class ProductAdminForm(forms.ModelForm):
    class Meta:
        model = Product
        fields = list(quotes.PRODUCT_FIELDS)

    def clean_currency(self) -> str:
        try:
            return quotes.normalize_currency(self.cleaned_data.get("currency", ""))
        except ApplicationError as exc:
            raise ValidationError(exc.message, code="invalid") from exc


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    form = ProductAdminForm
    list_display = ["code", "name", "series", "unit_price", "currency", "is_active"]
    list_filter = ["is_active", "series", "currency"]
    search_fields = ["code", "name", "series"]
    readonly_fields = ["created_at"]

    def save_model(self, request, obj, form, change):
        fields = quotes.PRODUCT_FIELDS
        if change:
            stored = Product.objects.get(pk=obj.pk)  # `obj` already holds the form's values
            quotes.product_update(
                product=stored, **{name: form.cleaned_data[name] for name in form.changed_data}
            )
        else:
            created = quotes.product_create(**{name: form.cleaned_data[name] for name in fields})
            obj.pk, obj._state.adding = created.pk, False


# --- Quotes -------------------------------------------------------------------------------------


def _is_open_draft(quote: Quote | None) -> bool:
    return quote is None or quote.status == QuoteStatus.DRAFT


class QuoteLineAdminForm(forms.ModelForm):
    unit_price = forms.DecimalField(
        max_digits=14,
        decimal_places=2,
        min_value=0,
        required=False,
        label=_("unit price"),
        help_text=_("Empty: the product's list price."),
    )

    class Meta:
        model = QuoteLine
        fields = ["product", "description", "quantity", "unit_price", "discount_percent"]

    def clean(self):
        cleaned_data = super().clean()
        product = cleaned_data.get("product")
        # The service defaults the price too; the form needs one to pass the model's checks.
        if cleaned_data.get("unit_price") is None and product is not None:
            cleaned_data["unit_price"] = product.unit_price
        return cleaned_data


class QuoteLineFormSet(forms.BaseInlineFormSet):
    """Collects the lines for the service and shows its line errors on the right rows."""

    quote_lines: list[dict] | None = None

    def clean(self):
        super().clean()
        self.quote_lines = None
        if any(self.errors):
            return
        kept = [
            form
            for form in self.forms
            if form.cleaned_data and not (self.can_delete and self._should_delete_form(form))
        ]
        fields = ("product", "description", "quantity", "unit_price", "discount_percent")
        self.quote_lines = [{name: form.cleaned_data.get(name) for name in fields} for form in kept]
        deal = self.instance.deal if self.instance.deal_id else None
        if deal is None:
            return  # the quote form reports the missing deal
        try:
            quotes.quote_lines_validate(currency=deal.currency, lines=self.quote_lines)
        except ApplicationError as exc:
            for index, errors in exc.errors.get("lines", {}).items():
                form = kept[index]
                for name, messages_ in errors.items():
                    form.add_error(name if name in form.fields else None, messages_)


class QuoteLineInline(admin.TabularInline):
    model = QuoteLine
    form = QuoteLineAdminForm
    formset = QuoteLineFormSet
    extra = 1
    ordering = ["position"]
    fields = ["product", "description", "quantity", "unit_price", "discount_percent", "line_total"]
    readonly_fields = ["line_total"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("product")

    def get_extra(self, request, obj=None, **kwargs):
        return 1 if _is_open_draft(obj) else 0

    def has_add_permission(self, request, obj=None) -> bool:
        return super().has_add_permission(request, obj) and _is_open_draft(obj)

    def has_change_permission(self, request, obj=None) -> bool:
        return super().has_change_permission(request, obj) and _is_open_draft(obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return super().has_delete_permission(request, obj) and _is_open_draft(obj)


class QuoteStatusChangeInline(admin.TabularInline):
    model = QuoteStatusChange
    extra = 0
    max_num = 0
    can_delete = False
    ordering = ["-created_at", "-id"]
    fields = ["created_at", "from_status", "to_status", "actor", "note"]
    readonly_fields = fields
    verbose_name_plural = _("status history")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class QuoteAdminForm(forms.ModelForm):
    class Meta:
        model = Quote
        fields = ["deal", "tax_rate", "valid_until", "notes"]

    def clean_deal(self):
        deal = self.cleaned_data.get("deal")
        if deal is not None and deal.is_closed:
            raise ValidationError(_("The deal is closed; it cannot get a new quote."))
        return deal


class ConfirmForm(forms.Form):
    """The action's confirmation page (nothing to fill in)."""


class RejectForm(forms.Form):
    reason = forms.CharField(
        max_length=quotes.REASON_MAX_LENGTH, label=_("Reason"), widget=forms.Textarea
    )


QUOTE_DETAILS = ("tax_rate", "valid_until", "notes")


@admin.register(Quote)
class QuoteAdmin(admin.ModelAdmin):
    form = QuoteAdminForm
    list_display = [
        "number",
        "deal",
        "account_name",
        "status",
        "total_display",
        "valid_until",
        "created_at",
        "print_link",
    ]
    list_filter = ["status", "currency", "created_at", "valid_until"]
    search_fields = ["number", "deal__name", "deal__account__name", "deal__contact__name"]
    list_select_related = ["deal__account"]
    date_hierarchy = "created_at"
    raw_id_fields = ["deal"]
    inlines = [QuoteLineInline, QuoteStatusChangeInline]
    actions = ["send_quotes", "accept_quotes", "reject_quotes"]
    readonly_fields = [
        "number",
        "status",
        "currency",
        "subtotal",
        "discount_total",
        "tax_total",
        "total",
        "created_by",
        "created_at",
        "sent_at",
        "decided_at",
        "print_link",
    ]

    def get_queryset(self, request):
        return selectors.quotes_visible_to(request.user, super().get_queryset(request))

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return self.readonly_fields
        return ["deal", *self.readonly_fields]

    def get_actions(self, request):
        actions = super().get_actions(request)
        # Only drafts may be deleted, one at a time from their page.
        actions.pop("delete_selected", None)
        return actions

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "deal":
            kwargs["queryset"] = selectors.deals_editable_by(request.user).filter(
                stage__in=OPEN_DEAL_STAGES
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def _editable(self, request, obj: Quote) -> bool:
        return selectors.quotes_editable_by(request.user, Quote.objects.filter(pk=obj.pk)).exists()

    def has_change_permission(self, request, obj=None) -> bool:
        allowed = super().has_change_permission(request, obj)
        if obj is None or not allowed:
            return allowed
        return obj.status == QuoteStatus.DRAFT and self._editable(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        allowed = super().has_delete_permission(request, obj)
        if obj is None or not allowed:
            return allowed
        return obj.status == QuoteStatus.DRAFT and self._editable(request, obj)

    @admin.display(description=_("account"), ordering="deal__account__name")
    def account_name(self, obj: Quote) -> str:
        return obj.deal.account.name if obj.deal.account_id else "-"

    @admin.display(description=_("total"), ordering="total")
    def total_display(self, obj: Quote) -> str:
        return quotes.format_money(obj.total, obj.currency)

    @admin.display(description=_("printable"))
    def print_link(self, obj: Quote) -> str:
        if obj.pk is None:
            return "-"
        url = reverse("pipeline:quote_print", args=[obj.pk])
        return format_html('<a href="{}" target="_blank">{}</a>', url, _("Print"))

    # Saving: the service writes the quote and its lines together (number, totals, history).

    def save_model(self, request, obj, form, change):
        pass  # done in save_related, once the lines are known

    def save_related(self, request, form, formsets, change):
        lines = next(
            (formset.quote_lines for formset in formsets if isinstance(formset, QuoteLineFormSet)),
            None,
        )
        for formset in formsets:
            # What formset.save() would have recorded, for the admin's change message.
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        quote = form.instance
        if change:
            changes = {name: form.cleaned_data[name] for name in form.changed_data}
            changes = {name: value for name, value in changes.items() if name in QUOTE_DETAILS}
            if lines is not None:
                changes["lines"] = lines
            quotes.quote_update(quote=Quote.objects.get(pk=quote.pk), actor=request.user, **changes)
            return
        created = quotes.quote_create(
            deal=form.cleaned_data["deal"],
            lines=lines or [],
            actor=request.user,
            **{name: form.cleaned_data[name] for name in QUOTE_DETAILS},
        )
        quote.pk, quote.number, quote._state.adding = created.pk, created.number, False

    # Actions.

    def has_send_permission(self, request) -> bool:
        return request.user.has_perm("pipeline.send_quote")

    def has_decide_permission(self, request) -> bool:
        return request.user.has_perm("pipeline.decide_quote")

    def _apply(self, request, queryset: QuerySet, decide, **kwargs) -> int:
        editable = set(
            selectors.quotes_editable_by(request.user, queryset).values_list("pk", flat=True)
        )
        done = 0
        for quote in queryset.select_related("deal"):
            if quote.pk not in editable:
                self.message_user(
                    request, f"{quote}: {_('you may not change this quote.')}", messages.WARNING
                )
                continue
            try:
                decide(quote=quote, actor=request.user, **kwargs)
                done += 1
            except ApplicationError as exc:
                self.message_user(request, f"{quote}: {exc.message}", messages.WARNING)
        return done

    def _confirmed(self, request, queryset, form_class, *, title, action):
        form = form_class(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            return form, None
        return None, run_action_form(self, request, queryset, form, title=title, action=action)

    @admin.action(description=_("Send the quotes to the customers"), permissions=["send"])
    def send_quotes(self, request, queryset):
        form, page = self._confirmed(
            request, queryset, ConfirmForm, title=_("Send quotes"), action="send_quotes"
        )
        if form is None:
            return page
        done = self._apply(request, queryset, quotes.quote_send)
        self.message_user(request, _("Sent %(count)d quote(s).") % {"count": done})
        return None

    @admin.action(description=_("Accepted by the customer (wins the deal)"), permissions=["decide"])
    def accept_quotes(self, request, queryset):
        form, page = self._confirmed(
            request, queryset, ConfirmForm, title=_("Accept quotes"), action="accept_quotes"
        )
        if form is None:
            return page
        done = self._apply(request, queryset, quotes.quote_accept)
        self.message_user(request, _("Accepted %(count)d quote(s).") % {"count": done})
        return None

    @admin.action(description=_("Rejected by the customer (with a reason)"), permissions=["decide"])
    def reject_quotes(self, request, queryset):
        form, page = self._confirmed(
            request, queryset, RejectForm, title=_("Reject quotes"), action="reject_quotes"
        )
        if form is None:
            return page
        done = self._apply(request, queryset, quotes.quote_reject, **form.cleaned_data)
        self.message_user(request, _("Rejected %(count)d quote(s).") % {"count": done})
        return None


@admin.register(QuoteStatusChange)
class QuoteStatusChangeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "quote", "from_status", "to_status", "actor", "note"]
    list_filter = ["to_status", "from_status", "created_at"]
    search_fields = ["quote__number", "note"]
    list_select_related = ["quote", "actor"]
    date_hierarchy = "created_at"

    def get_queryset(self, request):
        visible = selectors.quotes_visible_to(request.user, Quote.objects.all())
        return super().get_queryset(request).filter(quote__in=visible.values("pk"))

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
