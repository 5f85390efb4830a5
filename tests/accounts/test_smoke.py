import pytest

from tests.factories import ContactFactory


@pytest.mark.django_db
def test_it_lists_contacts(rep_client):
    ContactFactory.create_batch(3)
    response = rep_client.get("/api/v1/contacts/")
    assert response.status_code == 200
    assert response.json()["count"] == 3
