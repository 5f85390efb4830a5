"""Lead scoring over the API and in the admin: rules and policy (Admin only writes), leads with
their breakdown, follow-ups, qualify/disqualify, and no query per row."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from accounts.models import Contact, JourneyStage, Team
from pipeline.models import FollowUpTask, LeadScore, LeadScoreChange, ScoringRule, ScreeningPolicy
from pipeline.scoring import score_contacts
from pipeline.screening import screen_contacts
from tests.factories import AccountFactory, ContactFactory, TeamFactory
from tests.pipeline.scoring_factories import (
    NOW,
    BehaviourRuleFactory,
    FitRuleFactory,
    last_move,
    policy_with_team,
    scored_contact,
    touch,
)

pytestmark = pytest.mark.django_db

FIT_RULE = {
    "name": "Decision maker",
    "kind": "fit",
    "points": 20,
    "attribute": "title",
    "operator": "contains",
    "value": "director",
}


def _browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def hot_lead(sales_rep):
    """A lead of 80 points with an open follow-up assigned to the sales rep fixture."""
    policy_with_team(sales_rep)
    lead = scored_contact("80", name="Hanako Yamada")
    screen_contacts()
    return lead


# --- Scoring rules: who may write ---------------------------------------------------------------


def test_it_lets_a_sales_rep_read_the_rules(rep_client):
    FitRuleFactory(name="CTO", value="CTO", points=10)

    response = rep_client.get("/api/v1/scoring-rules/")

    assert response.status_code == 200
    assert [(row["name"], row["points"]) for row in response.json()["results"]] == [("CTO", 10)]


@pytest.mark.parametrize("client_name", ["rep_client", "marketer_client", "manager_client"])
def test_it_refuses_rule_writes_to_anyone_but_the_admin(client_name, request):
    client = request.getfixturevalue(client_name)
    rule = FitRuleFactory(name="CTO", value="CTO", points=10)

    created = client.post("/api/v1/scoring-rules/", FIT_RULE)
    changed = client.patch(f"/api/v1/scoring-rules/{rule.pk}/", {"points": 99})
    deleted = client.delete(f"/api/v1/scoring-rules/{rule.pk}/")

    assert (created.status_code, changed.status_code, deleted.status_code) == (403, 403, 403)
    assert list(ScoringRule.objects.values_list("name", "points")) == [("CTO", 10)]


def test_it_lets_the_admin_create_a_rule_and_rescores_everyone(
    admin_client_api, django_capture_on_commit_callbacks
):
    director = ContactFactory(title="Sales Director")

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = admin_client_api.post("/api/v1/scoring-rules/", FIT_RULE)

    assert response.status_code == 201, response.json()
    body = response.json()
    assert {key: body[key] for key in FIT_RULE} == FIT_RULE
    assert len(callbacks) == 1
    assert LeadScore.objects.get(contact=director).score == Decimal("20.00")


def test_it_lets_the_admin_change_and_delete_a_rule(
    admin_client_api, django_capture_on_commit_callbacks
):
    rule = FitRuleFactory(name="CTO", value="CTO", points=10)

    with django_capture_on_commit_callbacks() as callbacks:
        changed = admin_client_api.patch(f"/api/v1/scoring-rules/{rule.pk}/", {"points": -5})
        deleted = admin_client_api.delete(f"/api/v1/scoring-rules/{rule.pk}/")

    assert (changed.status_code, changed.json()["points"]) == (200, -5)
    assert deleted.status_code == 204
    assert not ScoringRule.objects.exists()
    assert len(callbacks) == 2


def test_it_answers_400_with_field_errors_for_a_rule_of_the_wrong_shape(admin_client_api):
    response = admin_client_api.post(
        "/api/v1/scoring-rules/", {**FIT_RULE, "value": "", "channel": "web"}
    )

    assert response.status_code == 400
    assert sorted(response.json()["errors"]) == ["channel", "value"]
    assert not ScoringRule.objects.exists()


def test_it_filters_and_orders_the_rules(rep_client):
    FitRuleFactory(name="CTO", value="CTO", points=10)
    BehaviourRuleFactory(name="Visits", touchpoint_kind="web_visit", points=3)
    BehaviourRuleFactory(name="Old", touchpoint_kind="web_visit", points=1, is_active=False)

    behaviour = rep_client.get("/api/v1/scoring-rules/?kind=behaviour&is_active=true")
    by_points = rep_client.get("/api/v1/scoring-rules/?ordering=-points")

    assert [row["name"] for row in behaviour.json()["results"]] == ["Visits"]
    assert [row["name"] for row in by_points.json()["results"]] == ["CTO", "Visits", "Old"]


# --- Screening policy ---------------------------------------------------------------------------


def test_it_shows_the_policy_to_a_sales_rep_but_refuses_changes(rep_client):
    read = rep_client.get("/api/v1/screening-policy/")
    write = rep_client.patch("/api/v1/screening-policy/", {"hot_threshold": "10"})

    assert read.status_code == 200
    assert read.json()["hot_threshold"] == "50.00"
    assert write.status_code == 403
    assert ScreeningPolicy.objects.get(pk=1).hot_threshold == Decimal("50.00")


def test_it_lets_the_admin_change_the_policy(admin_client_api, django_capture_on_commit_callbacks):
    team = TeamFactory(name="Tokyo sales", kind=Team.Kind.SALES)

    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client_api.patch(
            "/api/v1/screening-policy/",
            {"hot_threshold": "42.50", "sales_team": team.pk, "follow_up_within_hours": 8},
        )

    assert response.status_code == 200, response.json()
    assert response.json() | {"updated_at": None} == {
        "hot_threshold": "42.50",
        "sales_team": team.pk,
        "sales_team_name": "Tokyo sales",
        "follow_up_within_hours": 8,
        "last_assignee": None,
        "updated_at": None,
    }
    policy = ScreeningPolicy.objects.get(pk=1)
    assert (policy.hot_threshold, policy.sales_team, policy.follow_up_within_hours) == (
        Decimal("42.50"),
        team,
        8,
    )
    assert len(callbacks) == 1  # the new threshold re-screens everyone


@pytest.mark.parametrize(
    ("body", "field"),
    [({"hot_threshold": "-1"}, "hot_threshold"), ({"threshold": 10}, "threshold")],
)
def test_it_refuses_a_bad_policy_change(admin_client_api, body, field):
    response = admin_client_api.patch("/api/v1/screening-policy/", body)

    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]


def test_it_has_no_put_on_the_policy(admin_client_api):
    response = admin_client_api.put("/api/v1/screening-policy/", {"hot_threshold": "10"})

    assert response.status_code == 405


# --- Leads --------------------------------------------------------------------------------------


def test_it_lists_leads_hottest_first_with_their_breakdown(rep_client, sales_rep):
    cto = FitRuleFactory(name="CTO", value="CTO", points=30)
    visits = BehaviourRuleFactory(name="Visits", touchpoint_kind="web_visit", points=5)
    account = AccountFactory(name="Kaisha")
    hot = ContactFactory(name="Hanako", title="CTO", account=account, owner=sales_rep)
    touch(hot)
    warm = ContactFactory(name="Taro")
    touch(warm)
    score_contacts(now=NOW)

    response = rep_client.get("/api/v1/leads/")

    assert response.status_code == 200
    first, second = response.json()["results"]
    assert first | {"computed_at": None} == {
        "contact": hot.pk,
        "name": "Hanako",
        "email": hot.email,
        "title": "CTO",
        "account": account.pk,
        "account_name": "Kaisha",
        "stage": "awareness",
        "owner": sales_rep.pk,
        "owner_name": sales_rep.get_full_name(),
        "score": "35.00",
        "segment": "",
        "breakdown": [
            {"rule": cto.pk, "name": "CTO", "kind": "fit", "points": 30.0},
            {"rule": visits.pk, "name": "Visits", "kind": "behaviour", "points": 5.0},
        ],
        "computed_at": None,
    }
    assert (second["contact"], second["score"], second["account_name"]) == (warm.pk, "5.00", None)


def test_it_filters_leads(rep_client, sales_rep):
    team = TeamFactory(kind=Team.Kind.SALES)
    team.members.add(sales_rep)
    policy_with_team(sales_rep)
    hot = scored_contact("75", name="Hanako Yamada", owner=sales_rep)
    cool = scored_contact("20", name="Taro Sato", stage=JourneyStage.AWARENESS)
    prospect = scored_contact("90", name="Jiro Suzuki", stage=JourneyStage.PROSPECT)
    screen_contacts()

    def ids(query: str) -> list[int]:
        response = rep_client.get(f"/api/v1/leads/?{query}")
        assert response.status_code == 200, response.json()
        return [row["contact"] for row in response.json()["results"]]

    assert ids("segment=hot") == [prospect.pk, hot.pk]
    assert ids("segment=nurture") == [cool.pk]
    assert ids("min_score=75") == [prospect.pk, hot.pk]
    assert ids("stage=awareness&stage=prospect") == [prospect.pk, cool.pk]
    assert ids(f"owner={sales_rep.pk}") == [hot.pk]
    assert ids(f"team={team.pk}") == [hot.pk]
    assert ids("q=yamada") == [hot.pk]
    assert ids("ordering=score") == [cool.pk, hot.pk, prospect.pk]


@pytest.mark.parametrize("query", ["segment=warm", "min_score=abc", "stage=nowhere", "owner=0"])
def test_it_answers_400_to_a_bad_lead_filter(rep_client, query):
    response = rep_client.get(f"/api/v1/leads/?{query}")

    assert response.status_code == 400


def test_it_lists_many_leads_without_a_query_per_row(rep_client, django_assert_max_num_queries):
    team = TeamFactory()
    for n in range(60):
        owner = team.members.create(username=f"owner{n}") if n % 10 == 0 else None
        scored_contact(str(n), account=AccountFactory(), owner=owner)

    with django_assert_max_num_queries(6):
        response = rep_client.get(f"/api/v1/leads/?page_size=60&team={team.pk}&min_score=0")
    with django_assert_max_num_queries(6):
        everyone = rep_client.get("/api/v1/leads/?page_size=60")

    assert len(response.json()["results"]) == 6
    assert len(everyone.json()["results"]) == 60


def test_it_shows_a_lead_score_with_its_history(rep_client):
    BehaviourRuleFactory(name="Visits", touchpoint_kind="web_visit", points=5)
    contact = ContactFactory()
    touch(contact)
    score_contacts(now=NOW, cause="first")
    touch(contact)
    score_contacts(now=NOW, cause="second")

    response = rep_client.get(f"/api/v1/leads/{contact.pk}/score/")

    assert response.status_code == 200
    body = response.json()
    assert (body["contact"], body["score"], body["segment"]) == (contact.pk, "10.00", "")
    assert [(entry["name"], entry["points"]) for entry in body["breakdown"]] == [("Visits", 10.0)]
    assert [(row["from_score"], row["to_score"], row["cause"]) for row in body["history"]] == [
        ("5.00", "10.00", "second"),
        (None, "5.00", "first"),
    ]


def test_it_answers_404_for_an_unscored_or_unknown_lead(rep_client):
    unscored = ContactFactory()

    assert rep_client.get(f"/api/v1/leads/{unscored.pk}/score/").status_code == 404
    assert rep_client.get("/api/v1/leads/abc/").status_code == 404


# --- Follow-ups ---------------------------------------------------------------------------------


def test_it_lists_my_open_follow_ups_soonest_first(rep_client, sales_rep, manager):
    other_rep = sales_rep.__class__.objects.create(username="other")
    policy_with_team(sales_rep)
    mine = [scored_contact("60", name=f"Mine {n}") for n in range(2)]
    screen_contacts()
    ScreeningPolicy.objects.filter(pk=1).update(sales_team=None)
    theirs = scored_contact("60", name="Theirs")
    screen_contacts()
    FollowUpTask.objects.filter(contact=theirs).update(assignee=other_rep)
    FollowUpTask.objects.filter(contact=mine[0]).update(due_at=NOW)  # the soonest
    closed = scored_contact("60", name="Closed")
    FollowUpTask.objects.create(contact=closed, assignee=sales_rep, status="done", due_at=NOW)

    inbox = rep_client.get("/api/v1/follow-ups/?mine=true&status=open")
    everything = rep_client.get("/api/v1/follow-ups/")

    assert [row["contact_name"] for row in inbox.json()["results"]] == ["Mine 0", "Mine 1"]
    assert inbox.json()["results"][0]["assignee"] == sales_rep.pk
    assert len(everything.json()["results"]) == 4


def test_it_lists_many_follow_ups_without_a_query_per_row(
    rep_client, sales_rep, django_assert_max_num_queries
):
    policy_with_team(sales_rep)
    for _ in range(40):
        scored_contact("60")
    screen_contacts()

    with django_assert_max_num_queries(6):
        response = rep_client.get("/api/v1/follow-ups/?page_size=50&mine=true")

    assert len(response.json()["results"]) == 40


# --- Qualify and disqualify ---------------------------------------------------------------------


def test_it_qualifies_a_lead_through_the_api(rep_client, sales_rep, hot_lead):
    response = rep_client.post(f"/api/v1/leads/{hot_lead.pk}/qualify/")

    assert response.status_code == 200, response.json()
    assert response.json()["stage"] == "prospect"
    assert last_move(hot_lead) == ("lead", "prospect", sales_rep, "qualified")
    assert FollowUpTask.objects.get(contact=hot_lead).status == "done"


def test_it_disqualifies_a_lead_through_the_api(rep_client, sales_rep, hot_lead):
    response = rep_client.post(
        f"/api/v1/leads/{hot_lead.pk}/disqualify/", {"reason": "Competitor's employee"}
    )

    assert response.status_code == 200, response.json()
    assert response.json()["stage"] == "lost"
    assert last_move(hot_lead) == ("lead", "lost", sales_rep, "Competitor's employee")
    task = FollowUpTask.objects.get(contact=hot_lead)
    assert (task.status, task.outcome) == ("cancelled", "Competitor's employee")


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "   "}])
def test_it_answers_400_to_a_disqualify_without_reason(rep_client, hot_lead, body):
    response = rep_client.post(f"/api/v1/leads/{hot_lead.pk}/disqualify/", body)

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["reason"]
    assert Contact.objects.get(pk=hot_lead.pk).stage == "lead"
    assert FollowUpTask.objects.get(contact=hot_lead).status == "open"


def test_it_answers_409_when_the_lead_was_already_decided(rep_client, hot_lead):
    first = rep_client.post(f"/api/v1/leads/{hot_lead.pk}/qualify/")
    second = rep_client.post(f"/api/v1/leads/{hot_lead.pk}/disqualify/", {"reason": "too late"})

    assert (first.status_code, second.status_code) == (200, 409)
    assert Contact.objects.get(pk=hot_lead.pk).stage == "prospect"


@pytest.mark.parametrize(
    ("client_name", "expected"),
    [("agent_client", 403), ("marketer_client", 403), ("manager_client", 200)],
)
def test_it_lets_only_reps_and_managers_decide(client_name, expected, request, hot_lead):
    client = request.getfixturevalue(client_name)

    response = client.post(f"/api/v1/leads/{hot_lead.pk}/qualify/")

    assert response.status_code == expected
    assert Contact.objects.get(pk=hot_lead.pk).stage == ("prospect" if expected == 200 else "lead")


# --- Admin --------------------------------------------------------------------------------------

ADMIN_PAGES = [
    "/admin/pipeline/scoringrule/",
    "/admin/pipeline/leadscore/",
    "/admin/pipeline/leadscorechange/",
    "/admin/pipeline/followuptask/",
]


@pytest.mark.parametrize("url", ADMIN_PAGES)
def test_it_shows_the_admin_lists_without_a_query_per_row(
    url, admin_user, sales_rep, django_assert_max_num_queries
):
    BehaviourRuleFactory(name="Visits", touchpoint_kind="web_visit", points=60)
    policy_with_team(sales_rep)
    for _ in range(30):
        touch(ContactFactory(account=AccountFactory()))
    score_contacts(now=NOW)
    screen_contacts()
    browser = _browser(admin_user)

    with django_assert_max_num_queries(20):
        response = browser.get(url)

    assert response.status_code == 200


def test_it_shows_the_breakdown_of_a_score_in_the_admin(admin_user):
    BehaviourRuleFactory(name="Webinar visits", touchpoint_kind="web_visit", points=7)
    contact = ContactFactory()
    touch(contact)
    score_contacts(now=NOW)

    response = _browser(admin_user).get(f"/admin/pipeline/leadscore/{contact.pk}/change/")

    assert response.status_code == 200
    assert "<td>Webinar visits</td><td>behaviour</td><td>7.0</td>" in response.content.decode()


def test_it_opens_the_single_policy_from_the_admin_list(admin_user):
    response = _browser(admin_user).get("/admin/pipeline/screeningpolicy/")

    assert response.status_code == 302
    assert response["Location"] == "/admin/pipeline/screeningpolicy/1/change/"


def test_it_saves_the_policy_in_the_admin_through_the_service(
    admin_user, django_capture_on_commit_callbacks
):
    team = TeamFactory(kind=Team.Kind.SALES)

    with django_capture_on_commit_callbacks() as callbacks:
        response = _browser(admin_user).post(
            "/admin/pipeline/screeningpolicy/1/change/",
            {"hot_threshold": "35", "sales_team": team.pk, "follow_up_within_hours": 12},
        )

    assert response.status_code == 302
    policy = ScreeningPolicy.objects.get(pk=1)
    assert (policy.hot_threshold, policy.sales_team) == (Decimal("35.00"), team)
    assert len(callbacks) == 1


def test_it_saves_a_rule_in_the_admin_and_rescores_everyone(
    admin_user, django_capture_on_commit_callbacks
):
    director = ContactFactory(title="Director of IT")

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = _browser(admin_user).post(
            "/admin/pipeline/scoringrule/add/", {**FIT_RULE, "is_active": "on", "half_life_days": 0}
        )

    assert response.status_code == 302, response.content.decode()[:3000]
    assert len(callbacks) == 1
    assert LeadScore.objects.get(contact=director).score == Decimal("20.00")


def test_it_shows_rule_shape_errors_in_the_admin_form(admin_user):
    response = _browser(admin_user).post(
        "/admin/pipeline/scoringrule/add/",
        {**FIT_RULE, "value": "", "half_life_days": 0},
    )

    assert response.status_code == 200
    assert "A fit rule needs this." in response.content.decode()
    assert not ScoringRule.objects.exists()


def test_it_refuses_the_rule_admin_to_a_sales_rep(sales_rep):
    response = _browser(sales_rep).post(
        "/admin/pipeline/scoringrule/add/", {**FIT_RULE, "half_life_days": 0}
    )

    assert response.status_code == 403
    assert not ScoringRule.objects.exists()


def test_it_qualifies_from_the_admin(sales_rep, hot_lead):
    task = FollowUpTask.objects.get(contact=hot_lead)

    response = _browser(sales_rep).post(
        "/admin/pipeline/followuptask/",
        {"action": "qualify_leads", "_selected_action": [task.pk]},
    )

    assert response.status_code == 302
    assert Contact.objects.get(pk=hot_lead.pk).stage == "prospect"
    assert FollowUpTask.objects.get(pk=task.pk).status == "done"
    assert last_move(hot_lead) == ("lead", "prospect", sales_rep, "qualified")


def test_it_asks_for_a_reason_before_disqualifying_from_the_admin(sales_rep, hot_lead):
    task = FollowUpTask.objects.get(contact=hot_lead)
    browser = _browser(sales_rep)
    selected = {"action": "disqualify_leads", "_selected_action": [task.pk]}

    form = browser.post("/admin/pipeline/followuptask/", selected)
    empty = browser.post("/admin/pipeline/followuptask/", {**selected, "apply": "1", "reason": ""})
    done = browser.post(
        "/admin/pipeline/followuptask/", {**selected, "apply": "1", "reason": "No budget"}
    )

    assert (form.status_code, empty.status_code, done.status_code) == (200, 200, 302)
    assert "Reason" in form.content.decode()
    assert Contact.objects.get(pk=hot_lead.pk).stage == "lost"
    task.refresh_from_db()
    assert (task.status, task.outcome) == ("cancelled", "No budget")
    assert last_move(hot_lead) == ("lead", "lost", sales_rep, "No budget")


def test_it_hides_the_decision_actions_from_a_marketer(marketer, hot_lead):
    task = FollowUpTask.objects.get(contact=hot_lead)

    response = _browser(marketer).post(
        "/admin/pipeline/followuptask/",
        {"action": "qualify_leads", "_selected_action": [task.pk]},
    )

    assert Contact.objects.get(pk=hot_lead.pk).stage == "lead"
    assert response.status_code == 200  # the list again, with "no action selected"


def test_it_keeps_score_history_read_only_in_the_admin(admin_user):
    contact = ContactFactory()
    LeadScoreChange.objects.create(contact=contact, to_score=Decimal("5"))

    response = _browser(admin_user).get("/admin/pipeline/leadscorechange/add/")

    assert response.status_code == 403
