from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import (
    Account,
    Contact,
    JourneyStage,
    JourneyTransition,
    Team,
    Touchpoint,
    TouchpointChannel,
    TouchpointKind,
)
from frontoffice.api.serializers import (
    BoundedDateTimeField,
    IdField,
    StrictModelSerializer,
    StrictSerializer,
)

User = get_user_model()


def _campaigns():
    # The campaign model belongs to pipeline; accounts reaches it through the relation only.
    return Touchpoint._meta.get_field("campaign").related_model.objects.all()


def _staff_users():
    return User.objects.filter(is_active=True)


def _display_name(user) -> str | None:
    if user is None:
        return None
    return user.get_full_name() or user.get_username()


class AccountSerializer(StrictModelSerializer):
    owner = IdField(queryset=_staff_users(), allow_null=True, required=False)
    owner_name = serializers.SerializerMethodField()
    contact_count = serializers.IntegerField(read_only=True, default=0)

    class Meta:
        model = Account
        fields = [
            "id",
            "name",
            "domain",
            "industry",
            "size",
            "region",
            "owner",
            "owner_name",
            "contact_count",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]
        # Uniqueness is checked by the service with a clear message, on the normalised domain
        # (DRF would add its own UniqueValidator for the conditional unique constraint).
        validators: list = []
        extra_kwargs = {"domain": {"validators": []}}

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_owner_name(self, obj: Account) -> str | None:
        return _display_name(obj.owner)


class ContactSerializer(StrictModelSerializer):
    account = IdField(queryset=Account.objects.all(), allow_null=True, required=False)
    owner = IdField(queryset=_staff_users(), allow_null=True, required=False)
    account_name = serializers.SerializerMethodField()
    owner_name = serializers.SerializerMethodField()

    class Meta:
        model = Contact
        fields = [
            "id",
            "name",
            "email",
            "phone",
            "title",
            "department",
            "account",
            "account_name",
            "owner",
            "owner_name",
            "stage",
            "stage_changed_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["stage", "stage_changed_at", "created_at", "updated_at"]
        validators: list = []
        extra_kwargs = {"email": {"validators": []}}

    def validate(self, attrs):
        if "stage" in (getattr(self, "initial_data", None) or {}) and self.instance is not None:
            raise serializers.ValidationError(
                {
                    "stage": [
                        "The journey stage changes only through POST /api/v1/contacts/{id}/move/."
                    ]
                }
            )
        return super().validate(attrs)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_account_name(self, obj: Contact) -> str | None:
        return obj.account.name if obj.account_id else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_owner_name(self, obj: Contact) -> str | None:
        return _display_name(obj.owner)


class ContactCreateSerializer(ContactSerializer):
    """On create only, the starting journey stage may be given (default: awareness)."""

    stage = serializers.ChoiceField(choices=JourneyStage.choices, required=False)

    class Meta(ContactSerializer.Meta):
        read_only_fields = ["stage_changed_at", "created_at", "updated_at"]


class TouchpointSourceSerializer(serializers.Serializer):
    type = serializers.CharField(help_text="app_label.model of the object, e.g. pipeline.deal")
    id = serializers.IntegerField()


class TouchpointSerializer(StrictModelSerializer):
    contact = IdField(queryset=Contact.objects.all(), allow_null=True, required=False)
    account = IdField(queryset=Account.objects.all(), allow_null=True, required=False)
    campaign = IdField(queryset=_campaigns(), allow_null=True, required=False)
    contact_name = serializers.SerializerMethodField()
    account_name = serializers.SerializerMethodField()
    campaign_name = serializers.SerializerMethodField()
    actor_name = serializers.SerializerMethodField()
    source = serializers.SerializerMethodField()

    class Meta:
        model = Touchpoint
        fields = [
            "id",
            "kind",
            "channel",
            "occurred_at",
            "contact",
            "contact_name",
            "account",
            "account_name",
            "campaign",
            "campaign_name",
            "amount",
            "currency",
            "summary",
            "actor",
            "actor_name",
            "source",
            "created_at",
        ]
        read_only_fields = ["actor", "created_at"]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_contact_name(self, obj: Touchpoint) -> str | None:
        return str(obj.contact) if obj.contact_id else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_account_name(self, obj: Touchpoint) -> str | None:
        return obj.account.name if obj.account_id else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_campaign_name(self, obj: Touchpoint) -> str | None:
        return obj.campaign.name if obj.campaign_id else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_actor_name(self, obj: Touchpoint) -> str | None:
        return _display_name(obj.actor)

    @extend_schema_field(TouchpointSourceSerializer(allow_null=True))
    def get_source(self, obj: Touchpoint) -> dict | None:
        if obj.source_type_id is None or obj.source_id is None:
            return None
        content_type = ContentType.objects.get_for_id(obj.source_type_id)
        return {"type": f"{content_type.app_label}.{content_type.model}", "id": obj.source_id}


class TouchpointCreateSerializer(StrictSerializer):
    kind = serializers.ChoiceField(choices=TouchpointKind.choices)
    channel = serializers.ChoiceField(choices=TouchpointChannel.choices)
    occurred_at = BoundedDateTimeField(required=False)
    contact = IdField(queryset=Contact.objects.all(), allow_null=True, required=False)
    account = IdField(queryset=Account.objects.all(), allow_null=True, required=False)
    campaign = IdField(queryset=_campaigns(), allow_null=True, required=False)
    amount = serializers.DecimalField(
        max_digits=14, decimal_places=2, required=False, allow_null=True
    )
    currency = serializers.RegexField(r"^[A-Za-z]{3}$", required=False, allow_blank=True)
    summary = serializers.CharField(max_length=300, required=False, allow_blank=True)


class JourneyTransitionSerializer(serializers.ModelSerializer):
    actor_name = serializers.SerializerMethodField()

    class Meta:
        model = JourneyTransition
        fields = ["id", "from_stage", "to_stage", "created_at", "actor", "actor_name", "cause"]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_actor_name(self, obj: JourneyTransition) -> str | None:
        return _display_name(obj.actor)


class JourneyMoveSerializer(StrictSerializer):
    to_stage = serializers.ChoiceField(choices=JourneyStage.choices)
    cause = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class MergeSerializer(StrictSerializer):
    duplicate = serializers.IntegerField(
        min_value=1, help_text="Id of the record merged into this one (it is deleted)."
    )
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class MergeResultSerializer(serializers.Serializer):
    merge_id = serializers.IntegerField()
    survivor = serializers.IntegerField()
    duplicate = serializers.IntegerField()
    moved = serializers.DictField(child=serializers.IntegerField())


class ContactResolveSerializer(StrictSerializer):
    email = serializers.CharField(max_length=254, required=False, allow_blank=True, default="")
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    company = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    domain = serializers.CharField(max_length=253, required=False, allow_blank=True, default="")
    title = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    department = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")


class ContactResolveResultSerializer(serializers.Serializer):
    created = serializers.BooleanField()
    matched_on = serializers.CharField()
    contact = ContactSerializer()


class TeamSerializer(StrictModelSerializer):
    supervisor = IdField(queryset=_staff_users(), allow_null=True, required=False)
    members = IdField(queryset=_staff_users(), many=True, required=False)
    supervisor_name = serializers.SerializerMethodField()

    class Meta:
        model = Team
        fields = ["id", "name", "kind", "supervisor", "supervisor_name", "members", "created_at"]
        read_only_fields = ["created_at"]
        validators: list = []

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_supervisor_name(self, obj: Team) -> str | None:
        return _display_name(obj.supervisor)


class StaffSerializer(serializers.ModelSerializer):
    name = serializers.SerializerMethodField()
    roles = serializers.SerializerMethodField()
    teams = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "username", "name", "email", "roles", "teams"]

    def get_name(self, obj) -> str:
        return _display_name(obj)

    def get_roles(self, obj) -> list[str]:
        return sorted(group.name for group in obj.groups.all())

    def get_teams(self, obj) -> list[int]:
        return [team.pk for team in obj.teams.all()]


BATCH_KINDS = [
    (value, label)
    for value, label in TouchpointKind.choices
    if value in {"web_visit", "content_download", "email", "form", "event_visit", "survey", "chat"}
]
MAX_BATCH_ITEMS = 500


class TouchpointBatchItemSerializer(StrictSerializer):
    """One marketing interaction; the person is identified by email and/or phone."""

    kind = serializers.ChoiceField(choices=BATCH_KINDS)
    channel = serializers.ChoiceField(choices=TouchpointChannel.choices)
    occurred_at = BoundedDateTimeField(required=False)
    email = serializers.CharField(max_length=254, required=False, allow_blank=True, default="")
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    company = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    campaign = IdField(queryset=_campaigns(), allow_null=True, required=False)
    summary = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if not (attrs["email"] or attrs["phone"]):
            message = "Give the person's email or phone."
            raise serializers.ValidationError({"email": [message], "phone": [message]})
        return attrs


class TouchpointBatchSerializer(StrictSerializer):
    items = serializers.ListField(
        child=serializers.DictField(), min_length=1, max_length=MAX_BATCH_ITEMS
    )


class TouchpointBatchResultSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["stored", "rejected"])
    touchpoint = serializers.IntegerField(allow_null=True)
    contact = serializers.IntegerField(allow_null=True)
    contact_created = serializers.BooleanField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class TouchpointBatchResponseSerializer(serializers.Serializer):
    stored = serializers.IntegerField()
    rejected = serializers.IntegerField()
    results = TouchpointBatchResultSerializer(many=True)
