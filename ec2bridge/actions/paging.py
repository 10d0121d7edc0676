"""MaxResults/NextToken for the Describe* actions that botocore declares paginated.

The handlers build their whole (filtered) answer, then hand it here: the token is an offset into it,
so a listing must come back in a stable order (the managers order by id).
"""
from __future__ import annotations

import base64
import binascii

from ec2bridge.errors import Ec2Error


def paginate(args: dict, items: list, key: str, *, bounds: tuple[int, int | None],
             exclusive: str | None = None) -> dict:
    """MaxResults/NextToken as EC2 defines them: an opaque token, a page size within ``bounds`` (no upper
    bound where AWS documents none); ``exclusive``: the id list that MaxResults may not come with."""
    size, token = args.get("MaxResults"), args.get("NextToken")
    if size is not None and exclusive and args.get(exclusive):
        raise Ec2Error("InvalidParameterCombination", f"The parameter {exclusive} cannot be used with MaxResults")
    low, high = bounds
    if size is not None and (size < low or (high is not None and size > high)):
        expected = f"a value between {low} and {high}" if high is not None else f"a value of at least {low}"
        raise Ec2Error("InvalidParameterValue", f"Value ({size}) for parameter maxResults is invalid. "
                                                f"Expecting {expected}.")
    start = 0
    if token:
        try:
            start = int(base64.urlsafe_b64decode(token.encode()).decode().split(":", 1)[1])
        except (ValueError, IndexError, binascii.Error):
            raise Ec2Error("InvalidNextToken", "The provided token is not valid") from None
    if size is None:
        return {key: items[start:]}
    page = items[start:start + size]
    out = {key: page}
    if start + size < len(items):
        out["NextToken"] = base64.urlsafe_b64encode(f"{key}:{start + size}".encode()).decode()
    return out
