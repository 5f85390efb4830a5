"""Small readers of API list responses shared by the API tests."""

from __future__ import annotations


def result_names(response) -> list[str]:
    return [row["name"] for row in response.json()["results"]]


def result_ids(response) -> list[int]:
    return [row["id"] for row in response.json()["results"]]
