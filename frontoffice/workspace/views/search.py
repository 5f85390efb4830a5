"""Search across customers, deals and inquiries, from the box on every page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from frontoffice.workspace.access import is_htmx, workspace_view
from frontoffice.workspace.selectors import search_everything


@workspace_view()
def search(request: HttpRequest) -> HttpResponse:
    """The full results page; typed into the top bar's box (htmx), the short list under it."""
    query = request.GET.get("q", "")
    results = search_everything(request.user, query)
    context = {"results": results, "search_query": results.query}
    if is_htmx(request) and request.headers.get("HX-Target") == "search-suggest":
        return render(request, "workspace/search/_suggest.html", context)
    return render(request, "workspace/search/results.html", context)
