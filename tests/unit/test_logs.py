"""Secrets in request lines are masked before they are logged."""
from server.logs import redact


def test_session_keys_signatures_and_passwords_are_masked():
    line = ('"GET /client/api?command=listZones&sessionkey=abc123&apiKey=KEY&signature=sig%3D HTTP/1.1" 200 -'
            ' password=hunter2&secretKey=s3')
    masked = redact(line)
    for secret in ("abc123", "sig%3D", "hunter2", "s3"):
        assert secret not in masked
    assert "apiKey=KEY" in masked and "command=listZones" in masked
