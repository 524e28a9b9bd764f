"""Rest.li 2.0 encoding: a table of inputs and the exact strings LinkedIn expects."""

import pytest

from linkedin_leads.api.restli import Raw, encode, encode_query

CASES = [
    ("v1", "v1"),
    ("", "''"),
    (123, "123"),
    (True, "true"),
    (False, "false"),
    ("urn:li:app:123", "urn%3Ali%3Aapp%3A123"),
    ([1, 2], "List(1,2)"),
    ([], "List()"),
    ({"k41": "foobar"}, "(k41:foobar)"),
    (
        {"k1": "v1", "k2": "urn:li:app:123", "k3": [1, 2], "k4": {"k41": "foobar"}},
        "(k1:v1,k2:urn%3Ali%3Aapp%3A123,k3:List(1,2),k4:(k41:foobar))",
    ),
    (
        {"sponsoredAccount": "urn:li:sponsoredAccount:522529623"},
        "(sponsoredAccount:urn%3Ali%3AsponsoredAccount%3A522529623)",
    ),
    ({"leadType": "SPONSORED"}, "(leadType:SPONSORED)"),
    ({"start": 1715937337000, "end": 1718197899000}, "(start:1715937337000,end:1718197899000)"),
    (
        "urn:li:versionedLeadGenForm:(urn:li:leadGenForm:3162,1)",
        "urn%3Ali%3AversionedLeadGenForm%3A%28urn%3Ali%3AleadGenForm%3A3162%2C1%29",
    ),
    (" t?':,*!&+", "%20t%3F%27%3A%2C%2A%21%26%2B"),
    ("日本 🚀", "%E6%97%A5%E6%9C%AC%20%F0%9F%9A%80"),
    (Raw("id,form:(name,content)"), "id,form:(name,content)"),
]


@pytest.mark.parametrize("value,expected", CASES)
def test_encode(value: object, expected: str) -> None:
    assert encode(value) == expected


def test_encode_query_matches_linkedin_doc_sample() -> None:
    query = encode_query(
        [
            ("owner", {"sponsoredAccount": "urn:li:sponsoredAccount:522529623"}),
            ("leadType", {"leadType": "SPONSORED"}),
            ("limitedToTestLeads", False),
            ("versionedLeadGenFormUrn", "urn:li:versionedLeadGenForm:(urn:li:leadGenForm:3162,1)"),
            ("q", "owner"),
            ("skipped", None),
        ]
    )
    assert query == (
        "owner=(sponsoredAccount:urn%3Ali%3AsponsoredAccount%3A522529623)&leadType=(leadType:SPONSORED)"
        "&limitedToTestLeads=false&versionedLeadGenFormUrn=urn%3Ali%3AversionedLeadGenForm%3A%28urn%3Ali"
        "%3AleadGenForm%3A3162%2C1%29&q=owner"
    )


def test_param_name_is_encoded() -> None:
    assert encode_query({"pr op:1": " t?':,*!&+"}) == "pr%20op%3A1=%20t%3F%27%3A%2C%2A%21%26%2B"


def test_unencodable_type_is_refused() -> None:
    with pytest.raises(TypeError):
        encode(1.5)
