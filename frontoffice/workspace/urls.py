"""The staff workspace at /app/ (namespace ``workspace``). One section per area."""

from __future__ import annotations

from django.urls import path

from frontoffice.workspace import language
from frontoffice.workspace.views import base, customers, sales, search, supervisor, support

app_name = "workspace"

urlpatterns = [
    # --- Frame
    path("", base.home, name="home"),
    path("login/", base.LoginView.as_view(), name="login"),
    path("logout/", base.LogoutView.as_view(), name="logout"),
    path("language/", language.set_language, name="language"),
    # --- Everyone: search and Customer 360
    path("search/", search.search, name="search"),
    path("contacts/<int:pk>/", customers.contact_detail, name="contact"),
    path("accounts/<int:pk>/", customers.account_detail, name="account"),
    # --- Sales rep (and a manager's team board: pipeline/?scope=team)
    path("pipeline/", sales.board, name="board"),
    path("pipeline/<int:pk>/move/", sales.board_move, name="board-move"),
    path("deals/<int:pk>/", sales.deal_detail, name="deal"),
    path("reports/", sales.report_list, name="report-list"),
    path("reports/today/", sales.report_today, name="report-today"),
    path("reports/day/<str:day>/", sales.report_day, name="report-day"),
    path("reports/<int:pk>/", sales.report_detail, name="report-detail"),
    path("leads/", sales.leads, name="leads"),
    path("leads/<int:contact_id>/decide/", sales.lead_decide, name="lead-decide"),
    path("inquiries/log/", sales.inquiry_log, name="inquiry-log"),
    # --- Support agent (views/support.py)
    path("support/", support.inbox, name="inbox"),
    path("inquiries/<int:pk>/", support.inquiry_detail, name="inquiry"),
    path("inquiries/<int:pk>/reply/", support.inquiry_reply, name="inquiry-reply"),
    path("inquiries/<int:pk>/note/", support.inquiry_note, name="inquiry-note"),
    path("inquiries/<int:pk>/log-call/", support.inquiry_log_call, name="inquiry-log-call"),
    path("inquiries/<int:pk>/move/", support.inquiry_move, name="inquiry-move"),
    path("inquiries/<int:pk>/take/", support.inquiry_take, name="inquiry-take"),
    path("inquiries/<int:pk>/assign/", support.inquiry_assign, name="inquiry-assign"),
    path("inquiries/<int:pk>/escalate/", support.inquiry_escalate, name="inquiry-escalate"),
    path("escalations/<int:pk>/cancel/", support.escalation_cancel, name="escalation-cancel"),
    # --- Supervisor / manager (views/supervisor.py)
    path("escalations/", supervisor.escalation_list, name="escalations"),
    path("escalations/<int:pk>/", supervisor.escalation_detail, name="escalation"),
    path("escalations/<int:pk>/answer/", supervisor.escalation_answer, name="escalation-answer"),
    path("escalations/<int:pk>/decide/", supervisor.escalation_decide, name="escalation-decide"),
    path(
        "escalations/<int:pk>/escalate/",
        supervisor.escalation_escalate,
        name="escalation-escalate",
    ),
    path("team/reports/", supervisor.team_reports, name="team-reports"),
    path("team/reports/<int:pk>/", supervisor.team_report, name="team-report"),
    path(
        "team/reports/<int:pk>/review/",
        supervisor.team_report_review,
        name="team-report-review",
    ),
]
