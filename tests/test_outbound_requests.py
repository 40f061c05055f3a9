"""OWASP API7 (server-side request forgery): the service calls out only to the addresses in
its configuration (the SMS provider, WeChat, the captcha verifier), never to one a client
or a staff member typed. A reward's image address is the one URL the API takes: it is
stored and shown, and the app never fetches it."""

from __future__ import annotations

import socket

from tests.factories import console_sign_in, make_reward, redeem, sign_in, staff_headers


def test_an_address_typed_into_the_api_is_never_fetched(app, client):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.setblocking(False)
    port = listener.getsockname()[1]
    try:
        admin = staff_headers(app, client, "superadmin")
        bait = f"https://127.0.0.1:{port}/internal/metadata.png"
        reward = make_reward(client, admin, image_url=bait, cost_points=1)
        assert reward["image_url"] == bait  # stored and shown as given
        me = sign_in(client)
        assert client.get("/api/v1/rewards", headers=me.headers).status_code == 200
        redeem(client, me, reward)  # refused for want of points, or issued: either way
        console_sign_in(app, client, "campaign_admin")
        assert client.get("/admin/rewards").status_code == 200
        assert client.get(f"/admin/rewards/{reward['id']}").status_code == 200
        assert client.get(f"/admin/rewards/{reward['id']}/edit").status_code == 200

        try:
            listener.accept()
            called_back = True
        except BlockingIOError:
            called_back = False
        assert not called_back, "the app opened a connection to an address a caller gave"
    finally:
        listener.close()
