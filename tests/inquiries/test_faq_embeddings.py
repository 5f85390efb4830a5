"""The optional embeddings method: the model is read from the installed package offline, mines
paraphrases into the same candidates as TF-IDF would, and ranks suggestions. Skipped (with the
install command) when the extra is not installed."""

from __future__ import annotations

import os

import numpy as np
import pytest

from inquiries.faq import embeddings, services, vectors
from inquiries.models import FaqCandidate, FaqCandidateMember
from tests.inquiries.faq_data import (
    DELIVERY,
    DELIVERY_ANSWER,
    PASSWORD,
    PASSWORD_ANSWER,
    REFUND,
    REFUND_ANSWER,
    T0,
    ask,
)

pytestmark = pytest.mark.skipif(
    not embeddings.available(),
    reason="the embeddings extra is not installed: .venv/bin/pip install -r "
    "requirements-embeddings.txt",
)


def test_it_loads_the_packaged_model_offline_and_gives_unit_vectors():
    vectors_ = embeddings.encode(["How do I reset my password?", "I forgot my password"])

    assert vectors_.shape == (2, 384)
    assert np.linalg.norm(vectors_, axis=1).tolist() == pytest.approx([1.0, 1.0], abs=1e-5)
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert embeddings.model_path().name == "model"
    assert float(vectors_[0] @ vectors_[1]) > 0.6


def test_paraphrases_are_closer_than_other_questions():
    texts = [PASSWORD[0], PASSWORD[1], DELIVERY[0]]

    found = vectors.similarities(texts[0], texts[1:], method="embeddings")

    assert found[0] > found[1]


@pytest.mark.django_db
def test_it_mines_candidates_with_embeddings(support_agent):
    asked = {
        "password": [ask(q, agent=support_agent, answer=PASSWORD_ANSWER) for q in PASSWORD],
        # "When will my order arrive?" asks for a date, not for a lost parcel: left out here.
        "delivery": [ask(q, agent=support_agent, answer=DELIVERY_ANSWER) for q in DELIVERY[:3]],
        "refund": [ask(q, agent=support_agent, answer=REFUND_ANSWER) for q in REFUND],
    }

    result = services.faq_candidates_build(since=T0.date(), until=T0.date(), method="embeddings")

    assert (result.method, result.groups, result.created) == ("embeddings", 3, 3)
    groups = [
        set(FaqCandidateMember.objects.filter(candidate=c).values_list("inquiry_id", flat=True))
        for c in FaqCandidate.objects.order_by("id")
    ]
    expected = [{i.pk for i in inquiries} for inquiries in asked.values()]
    assert sorted(groups, key=min) == sorted(expected, key=min)
    assert set(FaqCandidate.objects.values_list("method", flat=True)) == {"embeddings"}
