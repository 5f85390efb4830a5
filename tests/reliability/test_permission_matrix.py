"""Who may do what: every endpoint, every role, as tables a reader can review.

Columns: anon = no credentials; rep = Sales rep (team "Sales East"); agent = Support agent
(team "Support"); manager = Manager, supervisor of Sales East and Support; marketer = Marketer;
admin = the Admin role (staff, not a superuser).

Cells are the status code the role gets:
- 200/201/202/204: allowed (writes send a valid minimal body, so 2xx means "allowed", not
  "refused for bad input");
- 401: no credentials (the API answers with WWW-Authenticate: Token); 302 on pages: sent to log in;
- 403: signed in, but the role (or the object rule) forbids it;
- 404: the object is out of the role's sight (another team's deal, another customer's inquiry);
- 400/409 appear where the role is allowed but the object's state refuses the move (said in a
  comment).

Braces name the objects of `world()`: `{deal}` is the rep's deal in Sales East, `{other_deal}`
the other rep's in Sales West; `{inquiry}` is on the rep's customer in the Support queue,
`{other_inquiry}` another customer's in another support team's queue; `{escalation}` asks the
manager (the Support supervisor) for instructions, requested by the agent.

Every operation of the OpenAPI schema and every page of the URL conf must have a row, and every
registered admin model a changelist row: a new endpoint without one fails
`test_it_has_a_row_for_every_endpoint`.

Each role's request runs in a savepoint rolled back afterwards, so every cell starts from the
same world.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.admindocs.views import extract_views_from_urlpatterns, simplify_regex
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client, override_settings
from django.urls import get_resolver
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from accounts import roles
from accounts.models import JourneyStage, Notification, Team
from frontoffice.kpis.periods import Period, Scope
from frontoffice.models import KpiRun, KpiSnapshot
from inquiries import channels, escalations
from inquiries import services as inquiry_services
from inquiries.models import (
    AssignmentRule,
    InboundChannel,
    SavedReply,
    SlaPolicy,
)
from inquiries.models.faq import FaqCandidate, FaqEntry
from pipeline import deals, quotes, reports, screening
from pipeline.models import (
    FollowUpTask,
    LeadForm,
    LeadImport,
    LeadScore,
    ScoringRule,
)
from tests.factories import (
    AccountFactory,
    CampaignFactory,
    ContactFactory,
    ProductFactory,
    TeamFactory,
    TouchpointFactory,
    UserFactory,
)

ROLES = ("anon", "rep", "agent", "manager", "marketer", "admin")
INBOUND_EMAIL_KEY = "inbound-email-shared-secret-for-the-matrix"

# fmt: off
API = """
method  path                                           anon  rep  agent  manager  marketer  admin
# --- Customers: every role works on the one customer record; deleting is the Admin's
GET     /api/v1/accounts/                              401   200  200    200      200       200
POST    /api/v1/accounts/                              401   201  201    201      201       201
GET     /api/v1/accounts/{account}/                    401   200  200    200      200       200
PUT     /api/v1/accounts/{account}/                    401   200  200    200      200       200
PATCH   /api/v1/accounts/{account}/                    401   200  200    200      200       200
DELETE  /api/v1/accounts/{spare_account}/              401   403  403    403      403       204
POST    /api/v1/accounts/{account}/merge/              401   403  403    200      403       200
GET     /api/v1/accounts/{account}/timeline/           401   200  200    200      200       200
GET     /api/v1/contacts/                              401   200  200    200      200       200
POST    /api/v1/contacts/                              401   201  201    201      201       201
GET     /api/v1/contacts/{contact}/                    401   200  200    200      200       200
PUT     /api/v1/contacts/{contact}/                    401   200  200    200      200       200
PATCH   /api/v1/contacts/{contact}/                    401   200  200    200      200       200
DELETE  /api/v1/contacts/{spare_contact}/              401   403  403    403      403       204
GET     /api/v1/contacts/{contact}/journey/            401   200  200    200      200       200
POST    /api/v1/contacts/{contact}/move/               401   200  403    200      200       200
POST    /api/v1/contacts/{contact}/merge/              401   403  403    200      403       200
GET     /api/v1/contacts/{contact}/timeline/           401   200  200    200      200       200
POST    /api/v1/contacts/resolve/                      401   201  201    201      201       201
GET     /api/v1/touchpoints/                           401   200  200    200      200       200
POST    /api/v1/touchpoints/                           401   201  201    201      201       201
GET     /api/v1/touchpoints/{touchpoint}/              401   200  200    200      200       200
POST    /api/v1/touchpoints/batch/                     401   200  200    200      200       200
# --- Staff
GET     /api/v1/teams/                                 401   200  200    200      200       200
POST    /api/v1/teams/                                 401   403  403    201      403       201
GET     /api/v1/teams/{sales_east}/                    401   200  200    200      200       200
PUT     /api/v1/teams/{sales_east}/                    401   403  403    200      403       200
PATCH   /api/v1/teams/{sales_east}/                    401   403  403    200      403       200
# Membership decides whose deals a manager sees: joining another supervisor's team is the Admin's
PATCH   /api/v1/teams/{sales_west}/                    401   403  403    403      403       200
DELETE  /api/v1/teams/{spare_team}/                    401   403  403    403      403       204
GET     /api/v1/users/                                 401   200  200    200      200       200
GET     /api/v1/users/{rep}/                           401   200  200    200      200       200
GET     /api/v1/users/me/                              401   200  200    200      200       200
# The rep's notification: everyone else's inbox does not have it
GET     /api/v1/notifications/                         401   200  200    200      200       200
GET     /api/v1/notifications/{notification}/          401   200  404    404      404       404
POST    /api/v1/notifications/mark-read/               401   200  200    200      200       200
# Anyone may exchange a user name and password (here the rep's) for a token
POST    /api/v1/auth/token/                            200   200  200    200      200       200
# --- Marketing
GET     /api/v1/campaigns/                             401   200  200    200      200       200
POST    /api/v1/campaigns/                             401   403  403    201      201       201
GET     /api/v1/campaigns/{campaign}/                  401   200  200    200      200       200
PUT     /api/v1/campaigns/{campaign}/                  401   403  403    200      200       200
PATCH   /api/v1/campaigns/{campaign}/                  401   403  403    200      200       200
DELETE  /api/v1/campaigns/{spare_campaign}/            401   403  403    403      204       204
GET     /api/v1/lead-forms/                            401   200  403    200      200       200
POST    /api/v1/lead-forms/                            401   403  403    403      201       201
GET     /api/v1/lead-forms/{lead_form}/                401   200  403    200      200       200
PUT     /api/v1/lead-forms/{lead_form}/                401   403  403    403      200       200
PATCH   /api/v1/lead-forms/{lead_form}/                401   403  403    403      200       200
DELETE  /api/v1/lead-forms/{lead_form}/                401   403  403    403      204       204
POST    /api/v1/lead-forms/{lead_form}/rotate-key/     401   403  403    403      200       200
POST    /api/v1/leads/capture/                         201   201  201    201      201       201
GET     /api/v1/lead-imports/                          401   200  403    200      200       200
POST    /api/v1/lead-imports/                          401   403  403    201      201       201
GET     /api/v1/lead-imports/{lead_import}/            401   200  403    200      200       200
GET     /api/v1/scoring-rules/                         401   200  403    200      200       200
POST    /api/v1/scoring-rules/                         401   403  403    403      403       201
GET     /api/v1/scoring-rules/{scoring_rule}/          401   200  403    200      200       200
PUT     /api/v1/scoring-rules/{scoring_rule}/          401   403  403    403      403       200
PATCH   /api/v1/scoring-rules/{scoring_rule}/          401   403  403    403      403       200
DELETE  /api/v1/scoring-rules/{scoring_rule}/          401   403  403    403      403       204
GET     /api/v1/screening-policy/                      401   200  403    200      200       200
PATCH   /api/v1/screening-policy/                      401   403  403    403      403       200
GET     /api/v1/leads/                                 401   200  200    200      200       200
GET     /api/v1/leads/{contact}/                       401   200  200    200      200       200
GET     /api/v1/leads/{contact}/score/                 401   200  200    200      200       200
POST    /api/v1/leads/{contact}/qualify/               401   200  403    200      403       200
POST    /api/v1/leads/{contact}/disqualify/            401   200  403    200      403       200
GET     /api/v1/follow-ups/                            401   200  403    200      200       200
GET     /api/v1/follow-ups/{follow_up}/                401   200  403    200      200       200
# --- Sales: a rep's own deals, a manager's teams', an agent reads its served customers',
#     marketer and admin read all; another team's deal is out of sight (404)
GET     /api/v1/deals/                                 401   200  200    200      200       200
POST    /api/v1/deals/                                 401   201  403    201      403       201
GET     /api/v1/deals/summary/                         401   200  200    200      200       200
GET     /api/v1/deals/{deal}/                          401   200  200    200      200       200
GET     /api/v1/deals/{other_deal}/                    401   404  404    404      200       200
PATCH   /api/v1/deals/{deal}/                          401   200  403    200      403       200
PATCH   /api/v1/deals/{other_deal}/                    401   404  403    404      403       200
DELETE  /api/v1/deals/{spare_deal}/                    401   403  403    403      403       204
POST    /api/v1/deals/{deal}/move/                     401   200  403    200      403       200
POST    /api/v1/deals/{other_deal}/move/               401   404  403    404      403       200
GET     /api/v1/deals/{deal}/history/                  401   200  200    200      200       200
GET     /api/v1/deals/{other_deal}/history/            401   404  404    404      200       200
GET     /api/v1/deal-stages/                           401   200  403    200      200       200
GET     /api/v1/deal-stages/{stage}/                   401   200  403    200      200       200
GET     /api/v1/products/                              401   200  200    200      200       200
POST    /api/v1/products/                              401   403  403    403      403       201
GET     /api/v1/products/{product}/                    401   200  200    200      200       200
PUT     /api/v1/products/{product}/                    401   403  403    403      403       200
PATCH   /api/v1/products/{product}/                    401   403  403    403      403       200
DELETE  /api/v1/products/{spare_product}/              401   403  403    403      403       204
GET     /api/v1/quotes/                                401   200  200    200      403       200
POST    /api/v1/quotes/                                401   201  403    201      403       201
GET     /api/v1/quotes/{quote}/                        401   200  200    200      403       200
GET     /api/v1/quotes/{other_quote}/                  401   404  404    404      403       200
PATCH   /api/v1/quotes/{quote}/                        401   200  403    200      403       200
PATCH   /api/v1/quotes/{other_quote}/                  401   404  403    404      403       200
POST    /api/v1/quotes/{quote}/send/                   401   200  403    200      403       200
POST    /api/v1/quotes/{sent_quote}/accept/            401   200  403    200      403       200
POST    /api/v1/quotes/{sent_quote}/reject/            401   200  403    200      403       200
GET     /api/v1/quotes/{quote}/history/                401   200  200    200      403       200
# A rep writes their own day; the manager reviews the team's; the admin reads all and, with no
# report of their own, finds none for the day (404)
GET     /api/v1/daily-reports/                         401   200  403    200      403       200
GET     /api/v1/daily-reports/{draft}/                 401   200  403    200      403       200
GET     /api/v1/daily-reports/{other_report}/          401   404  403    404      403       200
GET     /api/v1/daily-reports/today/                   401   200  403    403      403       404
PUT     /api/v1/daily-reports/today/                   401   200  403    403      403       201
GET     /api/v1/daily-reports/day/{yesterday}/         401   200  403    403      403       404
PUT     /api/v1/daily-reports/day/{yesterday}/         401   200  403    403      403       201
POST    /api/v1/daily-reports/{draft}/submit/          401   200  403    403      403       403
POST    /api/v1/daily-reports/{submitted}/approve/     401   403  403    200      403       200
POST    /api/v1/daily-reports/{submitted}/return/      401   403  403    200      403       200
POST    /api/v1/daily-reports/{submitted}/comment/     401   403  403    200      403       200
POST    /api/v1/daily-reports/{other_report}/approve/  401   403  403    404      403       200
# --- Support: agents and the supervisor work their queues; a rep reads (only) their own
#     customers' inquiries; the marketer has none
GET     /api/v1/inquiries/                             401   200  200    200      403       200
POST    /api/v1/inquiries/                             401   201  201    201      403       201
GET     /api/v1/inquiries/{inquiry}/                   401   200  200    200      403       200
GET     /api/v1/inquiries/{other_inquiry}/             401   404  404    404      403       200
PATCH   /api/v1/inquiries/{inquiry}/                   401   403  200    200      403       200
PATCH   /api/v1/inquiries/{other_inquiry}/             401   403  404    404      403       200
GET     /api/v1/inquiries/{inquiry}/messages/          401   200  200    200      403       200
GET     /api/v1/inquiries/{inquiry}/history/           401   200  200    200      403       200
POST    /api/v1/inquiries/{inquiry}/reply/             401   403  201    201      403       201
POST    /api/v1/inquiries/{other_inquiry}/reply/       401   403  404    404      403       201
POST    /api/v1/inquiries/{inquiry}/note/              401   403  201    201      403       201
POST    /api/v1/inquiries/{inquiry}/log-call/          401   403  201    201      403       201
POST    /api/v1/inquiries/{inquiry}/move/              401   403  200    200      403       200
POST    /api/v1/inquiries/{inquiry}/take/              401   403  200    200      403       200
POST    /api/v1/inquiries/{inquiry}/assign/            401   403  200    200      403       200
POST    /api/v1/inquiries/{inquiry}/escalate/          401   403  201    201      403       201
# The escalation asks the manager: the agent who asked cannot answer it; only who asked cancels
GET     /api/v1/escalations/                           401   200  200    200      403       200
GET     /api/v1/escalations/{escalation}/              401   200  200    200      403       200
POST    /api/v1/escalations/{escalation}/answer/       401   403  403    200      403       200
POST    /api/v1/escalations/{approval}/approve/        401   403  403    200      403       200
POST    /api/v1/escalations/{approval}/reject/         401   403  403    200      403       200
POST    /api/v1/escalations/{escalation}/cancel/       401   403  200    403      403       200
POST    /api/v1/escalations/{escalation}/escalate/     401   403  403    201      403       201
# FAQ mining: agents and managers review candidates; the published FAQ is public
GET     /api/v1/faq-candidates/                        401   403  200    200      403       200
GET     /api/v1/faq-candidates/{faq_candidate}/        401   403  200    200      403       200
GET     /api/v1/faq-candidates/{faq_candidate}/history/ 401  403  200    200      403       200
GET     /api/v1/faq-candidates/{faq_candidate}/members/ 401  403  200    200      403       200
POST    /api/v1/faq-candidates/{faq_candidate}/accept/ 401   403  201    201      403       201
POST    /api/v1/faq-candidates/{faq_candidate}/reject/ 401   403  200    200      403       200
POST    /api/v1/faq-candidates/{faq_candidate}/merge/  401   403  200    200      403       200
GET     /api/v1/faqs/                                  200   200  200    200      200       200
GET     /api/v1/faqs/{faq_entry}/                      200   200  200    200      200       200
GET     /api/v1/inquiries/{inquiry}/suggestions/       401   403  200    200      403       200
GET     /api/v1/saved-replies/                         401   200  200    200      403       200
POST    /api/v1/saved-replies/                         401   403  201    201      403       201
GET     /api/v1/saved-replies/{saved_reply}/           401   404  200    200      403       200
PATCH   /api/v1/saved-replies/{saved_reply}/           401   403  200    200      403       200
DELETE  /api/v1/saved-replies/{saved_reply}/           401   403  403    204      403       204
GET     /api/v1/sla-policies/                          401   403  200    200      403       200
POST    /api/v1/sla-policies/                          401   403  403    201      403       201
GET     /api/v1/sla-policies/{sla_policy}/             401   403  200    200      403       200
PATCH   /api/v1/sla-policies/{sla_policy}/             401   403  403    200      403       200
GET     /api/v1/assignment-rules/                      401   403  200    200      403       200
POST    /api/v1/assignment-rules/                      401   403  403    201      403       201
GET     /api/v1/assignment-rules/{assignment_rule}/    401   403  200    200      403       200
PATCH   /api/v1/assignment-rules/{assignment_rule}/    401   403  403    200      403       200
# Public channel endpoints: the channel's key is the credential, whoever calls
POST    /api/v1/inbound/chat/                          201   201  201    201      201       201
POST    /api/v1/inbound/web-form/                      201   201  201    201      201       201
POST    /api/v1/inbound/email/                         202   202  202    202      202       202
# --- KPIs: everyone reads the figures; managers and marketers start computations
GET     /api/v1/kpis/                                  401   200  200    200      200       200
GET     /api/v1/kpis/{kpi_snapshot}/                   401   200  200    200      200       200
POST    /api/v1/kpis/compute/                          401   403  403    202      202       202
GET     /api/v1/kpis/history/                          401   200  200    200      200       200
GET     /api/v1/kpis/runs/                             401   200  200    200      200       200
GET     /api/v1/kpis/runs/{kpi_run}/                   401   200  200    200      200       200
"""

# Pages outside the API's schema.
PAGES = """
page                                   anon  rep  agent  manager  marketer  admin
/                                      302   302  302    302      302       302
/api/v1/                               401   200  200    200      200       200
/api/schema/                           200   200  200    200      200       200
/api/docs/                             200   200  200    200      200       200
/dashboard/                            302   200  200    200      200       200
/pipeline/quotes/{quote}/print/        302   200  200    200      404       200
/pipeline/quotes/{other_quote}/print/  302   404  404    404      404       200
"""

# The staff workspace (/app/): the API's rules behind pages and forms. A page is 200; a form sent
# with valid input redirects (302) once done; anonymous visitors go to the workspace login (302).
# /app/ sends each role to its own start page; the login page sends the signed-in there.
WORKSPACE = """
method  path                                     anon  rep  agent  manager  marketer  admin
GET     /app/                                    302   302  302    302      302       302
GET     /app/login/                              200   302  302    302      302       302
POST    /app/logout/                             302   302  302    302      302       302
POST    /app/language/                           302   302  302    302      302       302
GET     /app/search/                             302   200  200    200      200       200
GET     /app/contacts/{contact}/                 302   200  200    200      200       200
GET     /app/accounts/{account}/                 302   200  200    200      200       200
GET     /app/pipeline/                           302   200  403    200      403       200
POST    /app/pipeline/{deal}/move/               302   302  403    302      403       302
POST    /app/pipeline/{other_deal}/move/         302   404  403    404      403       302
GET     /app/deals/{deal}/                       302   200  200    200      200       200
GET     /app/deals/{other_deal}/                 302   404  404    404      200       200
GET     /app/reports/                            302   200  403    403      403       200
GET     /app/reports/today/                      302   200  403    403      403       200
GET     /app/reports/day/{yesterday}/            302   200  403    403      403       200
GET     /app/reports/{draft}/                    302   200  403    200      403       200
GET     /app/reports/{other_report}/             302   404  403    404      403       200
GET     /app/leads/                              302   200  403    200      403       200
POST    /app/leads/{contact}/decide/             302   302  403    302      403       302
GET     /app/inquiries/log/                      302   200  200    200      403       200
GET     /app/support/                            302   403  200    200      403       200
GET     /app/inquiries/{inquiry}/                302   200  200    200      403       200
GET     /app/inquiries/{other_inquiry}/          302   404  404    404      403       200
POST    /app/inquiries/{inquiry}/reply/          302   403  302    302      403       302
POST    /app/inquiries/{other_inquiry}/reply/    302   403  404    404      403       302
POST    /app/inquiries/{inquiry}/note/           302   403  302    302      403       302
POST    /app/inquiries/{inquiry}/log-call/       302   403  302    302      403       302
POST    /app/inquiries/{inquiry}/move/           302   403  302    302      403       302
POST    /app/inquiries/{inquiry}/take/           302   403  302    302      403       302
POST    /app/inquiries/{inquiry}/assign/         302   403  302    302      403       302
POST    /app/inquiries/{inquiry}/escalate/       302   403  302    302      403       302
POST    /app/escalations/{escalation}/cancel/    302   403  302    403      403       302
GET     /app/escalations/                        302   200  200    200      403       200
GET     /app/escalations/{escalation}/           302   200  200    200      403       200
POST    /app/escalations/{escalation}/answer/    302   403  403    302      403       302
POST    /app/escalations/{approval}/decide/      302   403  403    302      403       302
POST    /app/escalations/{escalation}/escalate/  302   403  403    302      403       302
GET     /app/team/reports/                       302   403  403    200      403       200
GET     /app/team/reports/{submitted}/           302   403  403    200      403       200
GET     /app/team/reports/{other_report}/        302   403  403    404      403       200
POST    /app/team/reports/{submitted}/review/    302   403  403    302      403       302
"""

# The admin: a changelist per registered model (plus the pages of the audited models); the
# signed-in roles see what their view permissions allow (403 otherwise), and the objects of
# another team are as absent there as in the API (302 back to the index: "doesn't exist").
ADMIN = """
page                                                 anon  rep  agent  manager  marketer  admin
/admin/                                              302   200  200    200      200       200
/admin/auth/group/                                   302   403  403    403      403       200
/admin/auth/user/                                    302   403  403    403      403       200
/admin/authtoken/tokenproxy/                         302   403  403    403      403       200
/admin/frontoffice/auditentry/                       302   403  403    403      403       200
/admin/frontoffice/kpisnapshot/                      302   200  200    200      200       200
/admin/frontoffice/kpirun/                           302   200  200    200      200       200
/admin/accounts/account/                             302   200  200    200      200       200
/admin/accounts/account/{account}/change/            302   200  200    200      200       200
/admin/accounts/account/{spare_account}/delete/      302   403  403    403      403       200
/admin/accounts/account/{account}/history/           302   200  200    200      200       302
/admin/accounts/contact/                             302   200  200    200      200       200
/admin/accounts/contact/{contact}/change/            302   200  200    200      200       200
/admin/accounts/contact/{spare_contact}/delete/      302   403  403    403      403       200
/admin/accounts/touchpoint/                          302   200  200    200      200       200
/admin/accounts/journeytransition/                   302   200  200    200      200       200
/admin/accounts/customermerge/                       302   403  403    200      403       200
/admin/accounts/team/                                302   200  200    200      200       200
/admin/accounts/notification/                        302   403  403    403      403       200
/admin/accounts/staffpreference/                     302   403  403    403      403       403
/admin/pipeline/deal/                                302   200  200    200      200       200
/admin/pipeline/deal/{deal}/change/                  302   200  200    200      200       200
/admin/pipeline/deal/{other_deal}/change/            302   302  302    302      200       200
/admin/pipeline/deal/{spare_deal}/delete/            302   403  403    403      403       200
/admin/pipeline/dealstagechange/                     302   200  200    200      200       200
/admin/pipeline/dealstagesetting/                    302   200  403    200      200       200
# One policy each: the changelist goes straight to it; its page checks the permission
/admin/pipeline/salespolicy/                         302   302  302    302      302       302
/admin/pipeline/salespolicy/{sales_policy}/change/   302   200  403    200      200       200
/admin/pipeline/campaign/                            302   200  200    200      200       200
/admin/pipeline/leadform/                            302   200  403    200      200       200
/admin/pipeline/scoringrule/                         302   200  403    200      200       200
/admin/pipeline/screeningpolicy/                     302   302  302    302      302       302
/admin/pipeline/screeningpolicy/{screening}/change/  302   200  403    200      200       200
/admin/pipeline/leadscore/                           302   200  200    200      200       200
/admin/pipeline/leadscorechange/                     302   200  403    200      200       200
/admin/pipeline/followuptask/                        302   200  403    200      200       200
/admin/pipeline/leadimport/                          302   200  403    200      200       200
/admin/pipeline/product/                             302   200  200    200      200       200
/admin/pipeline/quote/                               302   200  200    200      403       200
/admin/pipeline/quotestatuschange/                   302   200  200    200      403       200
/admin/pipeline/dailyreport/                         302   200  403    200      403       200
/admin/pipeline/activity/                            302   200  403    200      403       200
/admin/inquiries/quarantinedemail/                   302   403  403    200      403       200
/admin/inquiries/escalation/                         302   200  200    200      403       200
/admin/inquiries/slapolicy/                          302   403  200    200      403       200
/admin/inquiries/slabreach/                          302   403  200    200      403       200
/admin/inquiries/assignmentrule/                     302   403  200    200      403       200
/admin/inquiries/faqcandidate/                       302   403  200    200      403       200
/admin/inquiries/faqentry/                           302   200  200    200      200       200
/admin/inquiries/faqcandidatemember/                 302   403  200    200      403       200
/admin/inquiries/inquiry/                            302   200  200    200      403       200
/admin/inquiries/inquiry/{inquiry}/change/           302   200  200    200      403       200
/admin/inquiries/inquiry/{other_inquiry}/change/     302   302  302    302      403       200
/admin/inquiries/message/                            302   200  200    200      403       200
/admin/inquiries/phonecall/                          302   200  200    200      403       200
/admin/inquiries/savedreply/                         302   200  200    200      403       200
/admin/inquiries/inboundchannel/                     302   403  200    200      403       200
"""
# fmt: on


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    expected: dict[str, int]

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


def _rows(table: str) -> list[Row]:
    """One Row per line; a table whose first column is `page` lists GET requests."""
    lines = [line.split() for line in table.strip().splitlines() if not line.startswith("#")]
    header, *rows = lines
    keys = 1 if header[0] == "page" else 2
    assert tuple(header[keys:]) == ROLES, header
    parsed = []
    for cells in rows:
        assert len(cells) == keys + len(ROLES), cells
        method, path = ("GET", cells[0]) if keys == 1 else (cells[0], cells[1])
        statuses = dict(zip(ROLES, (int(cell) for cell in cells[keys:]), strict=True))
        parsed.append(Row(method, path, statuses))
    keys = [row.key for row in parsed]
    assert len(keys) == len(set(keys)), "a row is listed twice"
    return parsed


API_ROWS, PAGE_ROWS, ADMIN_ROWS = _rows(API), _rows(PAGES), _rows(ADMIN)
WORKSPACE_ROWS = _rows(WORKSPACE)
ALL_ROWS = API_ROWS + PAGE_ROWS + WORKSPACE_ROWS + ADMIN_ROWS


# --- The world ----------------------------------------------------------------------------------


def _raw_email(world: SimpleNamespace) -> bytes:
    return (
        b"From: Hanako Sato <hanako@acme.example>\r\n"
        b"To: support@localhost\r\n"
        b"Subject: Where is my order?\r\n"
        b"Message-ID: <matrix-1@acme.example>\r\n"
        b"Date: Fri, 20 Nov 2026 10:00:00 +0900\r\n"
        b"\r\n"
        b"It has not arrived.\r\n"
    )


def _lead_file(world: SimpleNamespace) -> SimpleUploadedFile:
    return SimpleUploadedFile(
        "expo.csv", b"email,name\nnew.lead@expo.example,New Lead\n", content_type="text/csv"
    )


# A valid minimal body per write: a function of the world (ids), so 2xx means "allowed".
BODIES: dict[str, Callable[[SimpleNamespace], Any]] = {
    "POST /api/v1/accounts/": lambda w: {"name": "Globex KK", "domain": "globex.example"},
    "PUT /api/v1/accounts/{account}/": lambda w: {"name": "Acme Japan KK"},
    "PATCH /api/v1/accounts/{account}/": lambda w: {"region": "Kansai"},
    "POST /api/v1/accounts/{account}/merge/": lambda w: {
        "duplicate": w.duplicate_account.pk,
        "reason": "same company",
    },
    "POST /api/v1/contacts/": lambda w: {"name": "Jiro Suzuki", "email": "jiro@globex.example"},
    "PUT /api/v1/contacts/{contact}/": lambda w: {"name": "Hanako Sato", "title": "CTO"},
    "PATCH /api/v1/contacts/{contact}/": lambda w: {"title": "CIO"},
    "POST /api/v1/contacts/{contact}/move/": lambda w: {"to_stage": "prospect"},
    "POST /api/v1/contacts/{contact}/merge/": lambda w: {
        "duplicate": w.duplicate_contact.pk,
        "reason": "same person",
    },
    "POST /api/v1/contacts/resolve/": lambda w: {
        "email": "saburo@initech.example",
        "name": "Saburo Ito",
        "company": "Initech",
    },
    "POST /api/v1/touchpoints/": lambda w: {
        "kind": "web_visit",
        "channel": "web",
        "contact": w.contact.pk,
    },
    "POST /api/v1/touchpoints/batch/": lambda w: {
        "items": [{"kind": "web_visit", "channel": "web", "email": "visitor@globex.example"}]
    },
    "POST /api/v1/teams/": lambda w: {"name": "Sales North", "kind": "sales"},
    "PUT /api/v1/teams/{sales_east}/": lambda w: {"name": "Sales East", "kind": "sales"},
    "PATCH /api/v1/teams/{sales_east}/": lambda w: {"name": "Sales East (Tokyo)"},
    "PATCH /api/v1/teams/{sales_west}/": lambda w: {
        "members": [w.other_rep.pk, w.other_manager.pk, w.manager.pk]
    },
    "POST /api/v1/notifications/mark-read/": lambda w: {},
    "POST /api/v1/auth/token/": lambda w: {"username": "rep", "password": "pass-word-123"},
    "POST /api/v1/campaigns/": lambda w: {"name": "Webinar", "kind": "seminar"},
    "PUT /api/v1/campaigns/{campaign}/": lambda w: {"name": "Expo 2026", "kind": "exhibition"},
    "PATCH /api/v1/campaigns/{campaign}/": lambda w: {"name": "Expo 2026 Tokyo"},
    "POST /api/v1/lead-forms/": lambda w: {"name": "Webinar sign-up", "campaign": w.campaign.pk},
    "PUT /api/v1/lead-forms/{lead_form}/": lambda w: {
        "name": "Expo form",
        "campaign": w.campaign.pk,
    },
    "PATCH /api/v1/lead-forms/{lead_form}/": lambda w: {"name": "Expo form (booth)"},
    "POST /api/v1/leads/capture/": lambda w: {
        "form_key": w.lead_form.key,
        "email": "visitor@expo.example",
    },
    "POST /api/v1/lead-imports/": lambda w: {"file": _lead_file(w), "campaign": w.campaign.pk},
    "POST /api/v1/scoring-rules/": lambda w: {
        "name": "Title CTO",
        "kind": "fit",
        "points": 10,
        "attribute": "title",
        "operator": "contains",
        "value": "CTO",
    },
    "PUT /api/v1/scoring-rules/{scoring_rule}/": lambda w: {
        "name": "CTO",
        "kind": "fit",
        "points": 15,
        "attribute": "title",
        "operator": "contains",
        "value": "CTO",
    },
    "PATCH /api/v1/scoring-rules/{scoring_rule}/": lambda w: {"points": 7},
    "PATCH /api/v1/screening-policy/": lambda w: {"hot_threshold": 60},
    "POST /api/v1/leads/{contact}/disqualify/": lambda w: {"reason": "a student"},
    "POST /api/v1/deals/": lambda w: {"name": "Globex CRM", "account": w.account.pk},
    "PATCH /api/v1/deals/{deal}/": lambda w: {"probability": 60},
    "PATCH /api/v1/deals/{other_deal}/": lambda w: {"probability": 60},
    "POST /api/v1/deals/{deal}/move/": lambda w: {"to_stage": "won"},
    "POST /api/v1/deals/{other_deal}/move/": lambda w: {"to_stage": "quote"},
    "POST /api/v1/products/": lambda w: {"code": "SUP-1", "name": "Support", "unit_price": "500"},
    "PUT /api/v1/products/{product}/": lambda w: {
        "code": w.product.code,
        "name": "Licence",
        "unit_price": "12000",
    },
    "PATCH /api/v1/products/{product}/": lambda w: {"unit_price": "11000"},
    "POST /api/v1/quotes/": lambda w: {
        "deal": w.deal.pk,
        "lines": [{"product": w.product.pk, "quantity": "1"}],
    },
    "PATCH /api/v1/quotes/{quote}/": lambda w: {"notes": "Delivery in May."},
    "PATCH /api/v1/quotes/{other_quote}/": lambda w: {"notes": "Delivery in May."},
    "POST /api/v1/quotes/{sent_quote}/reject/": lambda w: {"reason": "too expensive"},
    "PUT /api/v1/daily-reports/today/": lambda w: {"notes": "Two visits."},
    "PUT /api/v1/daily-reports/day/{yesterday}/": lambda w: {"notes": "Calls."},
    "POST /api/v1/daily-reports/{submitted}/approve/": lambda w: {},
    "POST /api/v1/daily-reports/{submitted}/return/": lambda w: {"comment": "Add calls."},
    "POST /api/v1/daily-reports/{submitted}/comment/": lambda w: {"comment": "Good."},
    "POST /api/v1/daily-reports/{other_report}/approve/": lambda w: {},
    "POST /api/v1/inquiries/": lambda w: {
        "channel": "sales_rep",
        "contact": w.contact.pk,
        "body": "The customer asks for a manual.",
    },
    "PATCH /api/v1/inquiries/{inquiry}/": lambda w: {"category": "billing"},
    "PATCH /api/v1/inquiries/{other_inquiry}/": lambda w: {"category": "billing"},
    "POST /api/v1/inquiries/{inquiry}/reply/": lambda w: {"body": "We are on it."},
    "POST /api/v1/inquiries/{other_inquiry}/reply/": lambda w: {"body": "We are on it."},
    "POST /api/v1/inquiries/{inquiry}/note/": lambda w: {"body": "Checked the order."},
    "POST /api/v1/inquiries/{inquiry}/log-call/": lambda w: {
        "direction": "outbound",
        "duration_seconds": 120,
        "outcome": "answered",
    },
    "POST /api/v1/inquiries/{inquiry}/move/": lambda w: {"to_status": "pending"},
    "POST /api/v1/inquiries/{inquiry}/assign/": lambda w: {"assignee": w.agent.pk},
    "POST /api/v1/inquiries/{inquiry}/escalate/": lambda w: {
        "kind": "instructions",
        "reason": "Refund?",
        "owner": w.other_manager.pk,
    },
    "POST /api/v1/escalations/{escalation}/answer/": lambda w: {"text": "Refund it."},
    "POST /api/v1/escalations/{approval}/approve/": lambda w: {},
    "POST /api/v1/escalations/{approval}/reject/": lambda w: {"comment": "Not this time."},
    "POST /api/v1/escalations/{escalation}/cancel/": lambda w: {},
    "POST /api/v1/escalations/{escalation}/escalate/": lambda w: {
        "kind": "instructions",
        "reason": "Above my limit.",
        "owner": w.other_manager.pk,
    },
    "POST /api/v1/saved-replies/": lambda w: {
        "title": "Thanks",
        "body": "Thank you for writing.",
        "team": w.support.pk,
    },
    "PATCH /api/v1/saved-replies/{saved_reply}/": lambda w: {"title": "Greeting"},
    "POST /api/v1/faq-candidates/{faq_candidate}/accept/": lambda w: {
        "question": "How do I change the invoice address?",
        "answer": "Write to billing with the new address.",
    },
    "POST /api/v1/faq-candidates/{faq_candidate}/reject/": lambda w: {"reason": "Too specific."},
    "POST /api/v1/faq-candidates/{faq_candidate}/merge/": lambda w: {
        "other": w.other_faq_candidate.pk
    },
    "POST /api/v1/sla-policies/": lambda w: {
        "name": "Low",
        "priority": "low",
        "first_response_minutes": 480,
        "resolution_minutes": 4800,
    },
    "PATCH /api/v1/sla-policies/{sla_policy}/": lambda w: {"resolution_minutes": 900},
    "POST /api/v1/assignment-rules/": lambda w: {"name": "Phone", "team": w.support.pk},
    "PATCH /api/v1/assignment-rules/{assignment_rule}/": lambda w: {"position": 5},
    "POST /api/v1/inbound/chat/": lambda w: {
        "channel_key": w.chat.key,
        "conversation_id": "c-1",
        "message": "Hello?",
        "customer": {"email": "chatter@example.jp"},
    },
    "POST /api/v1/inbound/web-form/": lambda w: {
        "channel_key": w.web_form.key,
        "email": "writer@example.jp",
        "message": "Please call me.",
    },
    "POST /api/v1/inbound/email/": _raw_email,
    "POST /api/v1/kpis/compute/": lambda w: {"period": "2026-10"},
}
# Workspace forms (sent form-encoded, as a browser does).
FORMS: dict[str, Callable[[SimpleNamespace], dict[str, Any]]] = {
    "POST /app/logout/": lambda w: {},
    "POST /app/language/": lambda w: {"language": "ja", "next": "/app/"},
    "POST /app/pipeline/{deal}/move/": lambda w: {"to_stage": "won", "expected_stage": "quote"},
    "POST /app/pipeline/{other_deal}/move/": lambda w: {
        "to_stage": "quote",
        "expected_stage": "opportunity",
    },
    "POST /app/leads/{contact}/decide/": lambda w: {"decision": "qualify"},
    "POST /app/inquiries/{inquiry}/reply/": lambda w: {"body": "We are on it."},
    "POST /app/inquiries/{other_inquiry}/reply/": lambda w: {"body": "We are on it."},
    "POST /app/inquiries/{inquiry}/note/": lambda w: {"body": "Checked the order."},
    "POST /app/inquiries/{inquiry}/log-call/": lambda w: {
        "direction": "outbound",
        "duration_seconds": "120",
        "outcome": "answered",
    },
    "POST /app/inquiries/{inquiry}/move/": lambda w: {
        "to_status": "pending",
        "expected_status": "new",
    },
    "POST /app/inquiries/{inquiry}/take/": lambda w: {},
    "POST /app/inquiries/{inquiry}/assign/": lambda w: {"assignee": w.agent.pk},
    "POST /app/inquiries/{inquiry}/escalate/": lambda w: {
        "kind": "instructions",
        "reason": "Refund?",
        "owner": w.other_manager.pk,
    },
    "POST /app/escalations/{escalation}/cancel/": lambda w: {"reason": "Solved it."},
    "POST /app/escalations/{escalation}/answer/": lambda w: {"text": "Refund it."},
    "POST /app/escalations/{approval}/decide/": lambda w: {"decision": "approve"},
    "POST /app/escalations/{escalation}/escalate/": lambda w: {
        "kind": "instructions",
        "reason": "Above my limit.",
        "owner": w.other_manager.pk,
    },
    "POST /app/team/reports/{submitted}/review/": lambda w: {"decision": "approve"},
}
MULTIPART = {"POST /api/v1/lead-imports/"}
RAW_EMAIL = {"POST /api/v1/inbound/email/"}
HEADERS = {"POST /api/v1/inbound/email/": {"HTTP_X_INBOUND_KEY": INBOUND_EMAIL_KEY}}


def _user(username: str, role: str | None):
    return UserFactory(username=username, role=role)


def _build_world() -> SimpleNamespace:
    w = SimpleNamespace()
    w.rep = _user("rep", roles.SALES_REP)
    w.other_rep = _user("rep-west", roles.SALES_REP)
    w.agent = _user("agent", roles.SUPPORT_AGENT)
    w.manager = _user("manager", roles.MANAGER)
    w.other_manager = _user("manager-west", roles.MANAGER)
    w.marketer = _user("marketer", roles.MARKETER)
    w.admin = _user("admin", roles.ADMIN)

    w.sales_east = TeamFactory(name="Sales East", kind=Team.Kind.SALES, supervisor=w.manager)
    w.sales_east.members.add(w.rep, w.manager)
    w.sales_west = TeamFactory(name="Sales West", kind=Team.Kind.SALES, supervisor=w.other_manager)
    w.sales_west.members.add(w.other_rep, w.other_manager)
    w.support = TeamFactory(name="Support", kind=Team.Kind.SUPPORT, supervisor=w.manager)
    w.support.members.add(w.agent, w.manager)
    w.support_west = TeamFactory(
        name="Support West", kind=Team.Kind.SUPPORT, supervisor=w.other_manager
    )
    w.support_west.members.add(w.other_manager)
    w.spare_team = TeamFactory(name="Spare", kind=Team.Kind.SALES)

    # Customers: the rep's, the other rep's, duplicates to merge, spares to delete.
    w.account = AccountFactory(name="Acme KK", domain="acme.example", owner=w.rep)
    w.contact = ContactFactory(
        name="Hanako Sato",
        email="hanako@acme.example",
        account=w.account,
        owner=w.rep,
        stage=JourneyStage.LEAD,
    )
    w.other_account = AccountFactory(name="Umbrella KK", owner=w.other_rep)
    w.other_contact = ContactFactory(
        name="Ken Mori", email="ken@umbrella.example", account=w.other_account, owner=w.other_rep
    )
    w.duplicate_account = AccountFactory(name="ACME K.K.", domain="")
    w.duplicate_contact = ContactFactory(name="H. Sato", email="h.sato@acme.example")
    w.spare_account = AccountFactory(name="Gone KK")
    w.spare_contact = ContactFactory(name="Gone Person", email="gone@example.jp")
    # The agent has served the rep's customer: they read that customer's deals.
    w.touchpoint = TouchpointFactory(contact=w.contact, actor=w.agent, kind="call", channel="phone")

    # Marketing.
    w.campaign = CampaignFactory(name="Expo 2026")
    w.spare_campaign = CampaignFactory(name="Old mailing")
    w.lead_form = LeadForm.objects.create(name="Expo form", campaign=w.campaign)
    w.lead_import = LeadImport.objects.create(
        campaign=w.campaign, file_name="expo.csv", created_by=w.marketer, status="imported"
    )
    w.scoring_rule = ScoringRule.objects.create(
        name="CTO", kind="fit", points=10, attribute="title", operator="contains", value="CTO"
    )
    LeadScore.objects.create(contact=w.contact, score=Decimal(70), segment="hot")
    w.screening = screening.screening_policy()
    w.follow_up = FollowUpTask.objects.create(
        contact=w.contact, assignee=w.rep, score=Decimal(70), due_at=dt.datetime.now(dt.UTC)
    )

    # Sales.
    w.deal = deals.deal_create(
        name="Acme ERP",
        owner=w.rep,
        account=w.account,
        contact=w.contact,
        team=w.sales_east,
        amount=Decimal(1_000_000),
        stage="opportunity",
    )
    w.other_deal = deals.deal_create(
        name="Umbrella ERP",
        owner=w.other_rep,
        account=w.other_account,
        contact=w.other_contact,
        team=w.sales_west,
        stage="opportunity",
    )
    w.spare_deal = deals.deal_create(name="Dead lead", owner=w.rep, team=w.sales_east)
    w.product = ProductFactory(code="LIC-1", name="Licence", unit_price=Decimal(10000))
    w.spare_product = ProductFactory(code="OLD-1", name="Discontinued")
    lines = [{"product": w.product, "quantity": Decimal(1)}]
    w.quote = quotes.quote_create(deal=w.deal, lines=lines, actor=w.rep)
    w.sent_quote = quotes.quote_create(deal=w.deal, lines=lines, actor=w.rep)
    quotes.quote_send(quote=w.sent_quote, actor=w.rep)
    w.deal.refresh_from_db()
    w.other_quote = quotes.quote_create(deal=w.other_deal, lines=lines, actor=w.other_rep)

    w.sales_policy = reports.sales_policy()
    today = reports.local_today()
    w.yesterday = today - dt.timedelta(days=1)
    w.today_report, _ = reports.daily_report_save(rep=w.rep, day=today, notes="Visits.")
    w.draft, _ = reports.daily_report_save(rep=w.rep, day=w.yesterday, notes="Calls.")
    w.submitted, _ = reports.daily_report_save(
        rep=w.rep, day=today - dt.timedelta(days=2), notes="Demo.", submit=True
    )
    w.other_report, _ = reports.daily_report_save(
        rep=w.other_rep, day=w.yesterday, notes="West.", submit=True
    )

    # Support.
    w.inquiry = inquiry_services.inquiry_open(
        channel="email",
        subject="Invoice missing",
        body="Where is the invoice?",
        customer=inquiry_services.Customer(contact=w.contact),
        team=w.support,
    )
    w.other_inquiry = inquiry_services.inquiry_open(
        channel="email",
        subject="Broken part",
        body="It broke.",
        customer=inquiry_services.Customer(contact=w.other_contact),
        team=w.support_west,
    )
    w.escalated_inquiry = channels.inquiry_log(
        actor=w.agent,
        channel="phone",
        customer=inquiry_services.Customer(contact=w.contact),
        subject="Refund",
        body="Wants a refund.",
        team=w.support,
    )
    w.escalation = escalations.escalate(
        inquiry=w.escalated_inquiry, kind="instructions", reason="Refund?", actor=w.agent
    )
    w.approval = escalations.escalate(
        inquiry=w.escalated_inquiry, kind="approval", reason="Discount 20%?", actor=w.agent
    )
    w.saved_reply = SavedReply.objects.create(
        title="Hello", body="Thank you.", team=w.support, created_by=w.agent
    )
    w.faq_candidate = FaqCandidate.objects.create(
        question="How do I change the invoice address?",
        signature="matrix-1",
        period_start=date(2026, 10, 1),
        period_end=date(2026, 10, 31),
    )
    w.other_faq_candidate = FaqCandidate.objects.create(
        question="Can the invoice go to another address?",
        signature="matrix-2",
        period_start=date(2026, 10, 1),
        period_end=date(2026, 10, 31),
    )
    w.faq_entry = FaqEntry.objects.create(question="Where is my invoice?", answer="In the portal.")
    w.sla_policy = SlaPolicy.objects.create(
        name="Normal", priority="normal", first_response_minutes=60, resolution_minutes=480
    )
    w.assignment_rule = AssignmentRule.objects.create(
        name="Email", team=w.support, channel="email", strategy="queue_only"
    )
    w.chat = InboundChannel.objects.create(name="Chat", kind="chat", team=w.support)
    w.web_form = InboundChannel.objects.create(name="Contact form", kind="web_form")

    w.notification = Notification.objects.create(
        recipient=w.rep, kind="reminder", key="matrix", subject="Write your report"
    )
    period = Period.parse("2026-10")
    w.kpi_snapshot = KpiSnapshot.objects.create(
        definition_version=1,
        period_kind=period.kind,
        period_start=period.start,
        period_end=period.end,
        scope_kind=Scope("all", "").kind,
        values={},
    )
    w.kpi_run = KpiRun.objects.create(
        period_kind=period.kind,
        period_start=period.start,
        period_end=period.end,
        scope_kind="all",
        requested_by=w.manager,
    )
    return w


def _ids(world: SimpleNamespace) -> dict[str, Any]:
    ids = {name: value.pk for name, value in vars(world).items() if hasattr(value, "pk")}
    ids["stage"] = "list"
    ids["yesterday"] = world.yesterday.isoformat()
    return ids


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Built once for the module inside a transaction that is rolled back at the end; each test
    runs in a savepoint inside it (pytest-django's `db`)."""
    with (
        django_db_blocker.unblock(),
        override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]),
        transaction.atomic(),
    ):
        built = _build_world()
        built.ids = _ids(built)
        yield built
        transaction.set_rollback(True)


# --- Calling an endpoint as a role --------------------------------------------------------------


def _api_client(world: SimpleNamespace, role: str) -> APIClient:
    client = APIClient()
    if role != "anon":
        client.force_authenticate(getattr(world, role))
    return client


def _browser(world: SimpleNamespace, role: str) -> Client:
    browser = Client()
    if role != "anon":
        browser.force_login(getattr(world, role))
    return browser


def _request(world: SimpleNamespace, row: Row, role: str) -> int:
    url = row.path.format(**world.ids)
    headers = HEADERS.get(row.key, {})
    if row.path.startswith("/api/v1/") and row.path != "/api/v1/":
        client = _api_client(world, role)
        call = getattr(client, row.method.lower())
        if row.key not in BODIES:
            return call(url, **headers).status_code
        body = BODIES[row.key](world)
        if row.key in MULTIPART:
            return client.post(url, body, format="multipart").status_code
        if row.key in RAW_EMAIL:
            return client.post(url, body, content_type="message/rfc822", **headers).status_code
        return call(url, body, format="json", **headers).status_code
    browser = _browser(world, role)
    if row.method == "POST":
        return browser.post(url, FORMS[row.key](world)).status_code
    return getattr(browser, row.method.lower())(url).status_code


def _statuses(world: SimpleNamespace, row: Row) -> dict[str, int]:
    """Each role's status code, every request on the same world (rolled back after each)."""
    statuses = {}
    for role in ROLES:
        cache.clear()  # throttles count per address: each role starts afresh
        with transaction.atomic():
            statuses[role] = _request(world, row, role)
            transaction.set_rollback(True)
    return statuses


@pytest.fixture
def _inbound_email_key(settings):
    settings.FRONTOFFICE_INBOUND_EMAIL_KEY = INBOUND_EMAIL_KEY


@pytest.mark.django_db
@pytest.mark.usefixtures("_inbound_email_key")
@pytest.mark.parametrize("row", API_ROWS, ids=lambda row: row.key)
def test_the_api_answers_each_role_as_the_matrix_says(world, row):
    assert _statuses(world, row) == row.expected


@pytest.mark.django_db
@pytest.mark.parametrize("row", PAGE_ROWS, ids=lambda row: row.key)
def test_the_pages_answer_each_role_as_the_matrix_says(world, row):
    assert _statuses(world, row) == row.expected


@pytest.mark.django_db
@pytest.mark.parametrize("row", WORKSPACE_ROWS, ids=lambda row: row.key)
def test_the_workspace_answers_each_role_as_the_matrix_says(world, row):
    assert _statuses(world, row) == row.expected


@pytest.mark.django_db
@pytest.mark.parametrize("row", ADMIN_ROWS, ids=lambda row: row.key)
def test_the_admin_answers_each_role_as_the_matrix_says(world, row):
    assert _statuses(world, row) == row.expected


# --- Nothing slips through ----------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\{[^}]*\}|<[^>]*>")


def _shape(path: str) -> str:
    """`/api/v1/deals/{other_deal}/` and `/api/v1/deals/<pk>/` both as `/api/v1/deals/{}/`."""
    return _PLACEHOLDER.sub("{}", path)


def _schema_operations() -> set[str]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return {
        f"{method.upper()} {_shape(path)}"
        for path, operations in schema["paths"].items()
        for method in operations
        if method in {"get", "post", "put", "patch", "delete"}
    }


def _url_conf_pages() -> set[str]:
    """Every route outside the admin, as a shape (format-suffix variants left out)."""
    pages = set()
    for _view, regex, _namespace, _name in extract_views_from_urlpatterns(
        get_resolver().url_patterns
    ):
        path = simplify_regex(regex)
        if path.startswith("/admin/") or "format>" in path:
            continue
        pages.add(_shape(path))
    return pages


def test_it_has_a_row_for_every_endpoint():
    listed = {f"{row.method} {_shape(row.path)}" for row in ALL_ROWS}
    listed_paths = {_shape(row.path) for row in ALL_ROWS}

    missing_operations = _schema_operations() - listed
    missing_pages = _url_conf_pages() - listed_paths
    missing_admin = {
        f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        for model in admin.site._registry
    } - listed_paths

    assert missing_operations == set(), "API operations without a row in the matrix"
    assert missing_pages == set(), "URL conf routes without a row in the matrix"
    assert missing_admin == set(), "admin models without a changelist row"


def test_every_row_is_an_endpoint_that_exists():
    operations = _schema_operations()
    pages = _url_conf_pages()
    stale_api = {
        row.key for row in API_ROWS if f"{row.method} {_shape(row.path)}" not in operations
    }
    stale_pages = {row.key for row in PAGE_ROWS + WORKSPACE_ROWS if _shape(row.path) not in pages}

    assert stale_api == set()
    assert stale_pages == set()


def test_every_write_row_has_a_body_when_it_needs_one():
    # A write that takes no input (send, accept, take, qualify, rotate-key, submit, delete) is
    # the only kind allowed without an entry in BODIES.
    without_input = re.compile(r"/(send|accept|take|qualify|rotate-key|submit)/$|^DELETE ")
    missing = {
        row.key
        for row in API_ROWS
        if row.method in {"POST", "PUT", "PATCH"}
        and row.key not in BODIES
        and not without_input.search(row.key)
    }
    unused = set(BODIES) - {row.key for row in API_ROWS}

    assert missing == set()
    assert unused == set()


# --- Teams: membership is sight -----------------------------------------------------------------
# A manager sees the deals and inquiries of the teams they belong to or supervise, so changing a
# team must not widen their own sight. (Before this rule, each refusal below was a 200 or 201.)
# These run on the world too: the manager supervises Sales East and Support, Sales West is the
# other manager's.


def _members(team: Team) -> set[str]:
    return set(team.members.values_list("username", flat=True))


def _as(world: SimpleNamespace, role: str) -> APIClient:
    return _api_client(world, role)


@pytest.mark.django_db
def test_a_manager_may_not_join_another_supervisors_team(world):
    west = world.sales_west

    response = _as(world, "manager").patch(
        f"/api/v1/teams/{west.pk}/",
        {"members": [world.other_rep.pk, world.other_manager.pk, world.manager.pk]},
        format="json",
    )

    assert response.status_code == 403
    assert response.json()["errors"] == {
        "members": ["You may not join or take over a team you do not supervise."]
    }
    assert _members(west) == {"rep-west", "manager-west"}


@pytest.mark.django_db
def test_a_manager_may_not_take_over_another_supervisors_team(world):
    response = _as(world, "manager").patch(
        f"/api/v1/teams/{world.sales_west.pk}/", {"supervisor": world.manager.pk}, format="json"
    )

    assert response.status_code == 403
    assert Team.objects.get(pk=world.sales_west.pk).supervisor == world.other_manager


@pytest.mark.django_db
def test_a_manager_may_not_pull_another_teams_rep_into_a_team_of_their_own(world):
    response = _as(world, "manager").post(
        "/api/v1/teams/",
        {
            "name": "Tiger team",
            "kind": "sales",
            "supervisor": world.manager.pk,
            "members": [world.other_rep.pk],
        },
        format="json",
    )

    assert response.status_code == 403
    assert response.json()["errors"] == {
        "members": [
            "Someone you add is in a team another supervisor leads; the Admin moves people."
        ]
    }
    assert not Team.objects.filter(name="Tiger team").exists()


@pytest.mark.django_db
def test_a_manager_still_builds_a_team_from_new_staff(world):
    newcomer = UserFactory(username="newcomer", role=roles.SALES_REP)

    response = _as(world, "manager").post(
        "/api/v1/teams/",
        {
            "name": "Sales North",
            "kind": "sales",
            "supervisor": world.manager.pk,
            "members": [newcomer.pk],
        },
        format="json",
    )

    assert response.status_code == 201
    assert _members(Team.objects.get(name="Sales North")) == {"manager", "newcomer"}


@pytest.mark.django_db
def test_the_admin_moves_people_between_teams(world):
    response = _as(world, "admin").patch(
        f"/api/v1/teams/{world.sales_west.pk}/",
        {"members": [world.other_rep.pk, world.other_manager.pk, world.rep.pk]},
        format="json",
    )

    assert response.status_code == 200
    assert _members(world.sales_west) == {"rep-west", "manager-west", "rep"}


@pytest.mark.django_db
def test_the_team_admin_refuses_the_same_as_the_api(world):
    west = world.sales_west

    response = _browser(world, "manager").post(
        f"/admin/accounts/team/{west.pk}/change/",
        {
            "name": "Sales West",
            "kind": "sales",
            "supervisor": world.other_manager.pk,
            "members": [world.other_rep.pk, world.other_manager.pk, world.manager.pk],
        },
    )

    assert response.status_code == 200  # the form again, with the refusal
    assert "You may not join or take over a team you do not supervise." in response.content.decode()
    assert _members(west) == {"rep-west", "manager-west"}
