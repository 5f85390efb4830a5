import json
import pytest
from tests.factories import ContactFactory, AccountFactory, TouchpointFactory, TeamFactory

pytestmark = pytest.mark.django_db


def show(r):
    print(r.status_code, r.content[:400])


def test_probe(rep_client, admin_client_api, api_client, sales_rep):
    admin_client_api.raise_request_exception = False
    c = ContactFactory()
    a = AccountFactory()
    for url in [
        "/api/v1/contacts/abc/timeline/",
        "/api/v1/contacts/abc/journey/",
        "/api/v1/accounts/abc/timeline/",
        f"/api/v1/contacts/{10**30}/timeline/",
        f"/api/v1/contacts/{10**30}/",
        "/api/v1/touchpoints/?campaign=" + str(10**30),
        "/api/v1/touchpoints/?campaign=1e400",
        "/api/v1/touchpoints/?campaign=abc",
        "/api/v1/contacts/?created_at_after=0001-01-01",
        "/api/v1/contacts/?created_at_before=9999-12-31",
        "/api/v1/contacts/?created_at_after=notadate",
        "/api/v1/contacts/?stage=nope",
        "/api/v1/contacts/?owner=abc",
        "/api/v1/contacts/?page=abc",
        "/api/v1/contacts/?page=" + str(10**30),
        "/api/v1/contacts/?has_account=maybe",
        "/api/v1/contacts/1.5/",
        "/api/v1/users/?team=" + str(10**30),
        "/api/v1/users/?role=" + "x" * 300,
    ]:
        r = admin_client_api.get(url)
        print(url[:80])
        show(r)
    for body in ["{bad", "null", '"str"', "[1]", "123"]:
        r = admin_client_api.post("/api/v1/contacts/", data=body, content_type="application/json")
        print(body)
        show(r)
    for body in [
        {"name": "x", "owner": 1e400},
        {"name": "x", "owner": 1e30},
        {"name": "x", "owner": 1.5},
        {"name": "x", "account": 10**30},
    ]:
        r = admin_client_api.post(
            "/api/v1/contacts/",
            data=json.dumps(body).replace("Infinity", "1e400"),
            content_type="application/json",
        )
        print(body)
        show(r)
    r = admin_client_api.post(
        "/api/v1/touchpoints/",
        {
            "kind": "call",
            "channel": "phone",
            "contact": c.pk,
            "occurred_at": "0001-01-01T00:00:00+09:00",
        },
    )
    show(r)
    r = admin_client_api.post(
        "/api/v1/touchpoints/",
        {
            "kind": "call",
            "channel": "phone",
            "contact": c.pk,
            "occurred_at": "9999-12-31T23:59:59-09:00",
        },
    )
    show(r)
    r = admin_client_api.post("/api/v1/contacts/resolve/", {"email": "a@localhost"})
    show(r)
    r = admin_client_api.patch(f"/api/v1/contacts/{c.pk}/", {"stage": "customer", "id": 5})
    show(r)
    r = api_client.get("/api/v1/contacts/")
    show(r)
    print(r.headers)
    r = admin_client_api.delete(f"/api/v1/contacts/{c.pk}/")
    show(r)
