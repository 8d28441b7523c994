"""Request signing against the public Pusher test vectors (docs/node.md, "HTTP API" and "WebSocket")."""
from harness.workload.signing import body_md5, channel_auth, signature, signed_params, string_to_sign

KEY, SECRET = "278d425bdf160c739803", "7ad3773142a6692b25b8"
BODY = b'{"name":"foo","channels":["project-3"],"data":"{\\"some\\":\\"data\\"}"}'


def test_body_md5_vector():
    assert body_md5(BODY) == "ec365a775a4cd0599faeb73354201b6f"


def test_signature_vector():
    params = signed_params(KEY, SECRET, "POST", "/apps/3/events", BODY, timestamp=1353088179)
    assert params["body_md5"] == "ec365a775a4cd0599faeb73354201b6f"
    assert params["auth_signature"] == "da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c"


def test_query_keys_are_lowercased_sorted_and_unescaped():
    text = string_to_sign("get", "/apps/3/channels", {"Info": "a,b", "auth_key": "k", "FILTER_by_prefix": "presence-"})
    assert text == "GET\n/apps/3/channels\nauth_key=k&filter_by_prefix=presence-&info=a,b"


def test_signature_changes_with_any_input():
    base = signature(SECRET, "POST", "/apps/3/events", {"auth_key": KEY})
    assert base != signature(SECRET, "POST", "/apps/4/events", {"auth_key": KEY})
    assert base != signature(SECRET + "x", "POST", "/apps/3/events", {"auth_key": KEY})


def test_empty_body_has_no_md5():
    assert "body_md5" not in signed_params(KEY, SECRET, "GET", "/apps/3/channels", b"", timestamp=1)


def test_private_channel_auth_vector():
    assert channel_auth(KEY, SECRET, "1234.1234", "private-foobar") == (
        f"{KEY}:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4")
