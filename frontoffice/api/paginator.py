"""A page-number paginator whose count stays cheap on tables of millions of rows.

Counting every row of a large scope (an agent's team queue: 166,000 inquiries) cost PostgreSQL
more than the page itself, on every request. The count here stops after
``FRONTOFFICE_API_COUNT_LIMIT`` rows: up to it the count is exact; beyond it the paginator says
"more than the limit" (``count_exact`` is false) and every page stays reachable, whether there is
a next one being read from one extra row instead of from the count.
"""

from __future__ import annotations

from functools import cached_property

from django.conf import settings
from django.core.paginator import EmptyPage, Page, Paginator
from django.db.models import QuerySet

DEFAULT_COUNT_LIMIT = 1000


class BoundedPage(Page):
    """A page of a list counted only up to the limit: it knows itself whether more follow."""

    def __init__(self, object_list, number, paginator, *, has_more: bool) -> None:
        super().__init__(object_list, number, paginator)
        self.has_more = has_more

    def has_next(self) -> bool:
        return self.has_more

    def end_index(self) -> int:
        return self.start_index() + len(self.object_list) - 1


class BoundedCountPaginator(Paginator):
    def __init__(self, object_list, per_page, *args, **kwargs) -> None:
        super().__init__(object_list, per_page, *args, **kwargs)
        self.count_limit = getattr(settings, "FRONTOFFICE_API_COUNT_LIMIT", DEFAULT_COUNT_LIMIT)

    @cached_property
    def count(self) -> int:
        """The number of rows, or the limit when there are more (then ``count_exact`` is False)."""
        if not isinstance(self.object_list, QuerySet):
            self.count_exact = True
            return super().count
        # COUNT over a subquery that stops at limit + 1 rows; ordering does not change a count.
        counted = self.object_list.order_by()[: self.count_limit + 1].count()
        self.count_exact = counted <= self.count_limit
        return min(counted, self.count_limit)

    @property
    def is_exact(self) -> bool:
        return self.count is not None and self.count_exact

    def validate_number(self, number):
        try:
            return super().validate_number(number)
        except EmptyPage:
            # Past the counted rows of a longer list: page() finds out whether the page exists.
            if self.is_exact or int(number) < 1:
                raise
            return int(number)

    def page(self, number):
        number = self.validate_number(number)
        if self.is_exact:
            return super().page(number)
        bottom = (number - 1) * self.per_page
        rows = list(self.object_list[bottom : bottom + self.per_page + 1])
        if not rows:
            raise EmptyPage(self.error_messages["no_results"])
        return BoundedPage(rows[: self.per_page], number, self, has_more=len(rows) > self.per_page)
