"""ViewSet plumbing shared by every app: writes go through a service, reads re-use get_queryset."""

from __future__ import annotations

from typing import Any

from django.db import models
from rest_framework import status, viewsets
from rest_framework.response import Response


class ServiceModelViewSet(viewsets.ModelViewSet):
    """A ModelViewSet whose create/update call the app's service instead of ``serializer.save``.

    Subclasses implement ``create_object(data)`` and ``update_object(instance, data)``; the
    response is the object re-read through ``get_queryset()`` so it carries the same annotations
    and related names as the list.
    """

    create_serializer_class = None
    # Set per @action: the permissions that action needs instead of the model permission.
    required_permissions: list[str] | None = None

    def get_serializer_class(self):
        if self.action == "create" and self.create_serializer_class is not None:
            return self.create_serializer_class
        return super().get_serializer_class()

    def create_object(self, data: dict[str, Any]) -> models.Model:
        raise NotImplementedError

    def update_object(self, instance: models.Model, data: dict[str, Any]) -> models.Model:
        raise NotImplementedError

    def _read_back(self, instance: models.Model) -> dict[str, Any]:
        fresh = self.get_queryset().get(pk=instance.pk)
        return self.serializer_class(fresh, context=self.get_serializer_context()).data

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        instance = self.create_object(serializer.validated_data)
        return Response(self._read_back(instance), status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        instance = self.get_object()
        serializer = self.get_serializer(instance, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        instance = self.update_object(instance, serializer.validated_data)
        return Response(self._read_back(instance))
