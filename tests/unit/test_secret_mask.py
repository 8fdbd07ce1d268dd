"""SecretMask hides credentials the tap never had in its config (an assumed role's) by their place."""

from tap_dynamodb.logs import MASK, SecretMask


def test_sts_answer_credentials_are_masked_in_xml():
    text = (
        "<Credentials><AccessKeyId>ASIATEMPKEY0001</AccessKeyId><SecretAccessKey>tmpSecret/+=</SecretAccessKey>"
        "<SessionToken>tmpTokenABC==</SessionToken><Expiration>2030-01-01T00:00:00Z</Expiration></Credentials>"
    )
    masked = SecretMask().mask(text)
    assert "ASIATEMPKEY0001" not in masked and "tmpSecret" not in masked and "tmpTokenABC" not in masked
    assert "<Expiration>2030-01-01T00:00:00Z</Expiration>" in masked


def test_signed_request_headers_are_masked():
    text = (
        "{'X-Amz-Security-Token': b'FwoGZXIvYXdzEtoken', 'Authorization': b'AWS4-HMAC-SHA256 "
        "Credential=ASIATEMPKEY0001/20300101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=abc'}"
    )
    masked = SecretMask().mask(text)
    assert "FwoGZXIvYXdzEtoken" not in masked and "ASIATEMPKEY0001" not in masked
    assert f"Credential={MASK}/20300101" in masked


def test_configured_secrets_are_masked_by_value():
    mask = SecretMask(["s3cr3t-value"])
    assert mask.mask("error: token s3cr3t-value refused") == f"error: token {MASK} refused"


def test_a_short_secret_is_masked_as_a_whole_token_and_not_inside_other_words():
    mask = SecretMask(["local"])
    text = "DEBUG <local> DynamoDB Local at http://localhost:8000, user=local, ddblocal"
    assert mask.mask(text) == f"DEBUG <{MASK}> DynamoDB Local at http://localhost:8000, user={MASK}, ddblocal"
    assert mask.mask("aws_secret_access_key=local") == f"aws_secret_access_key={MASK}"


def test_a_long_secret_is_masked_wherever_it_occurs():
    mask = SecretMask(["s3cr3tValue/+"])
    assert mask.mask("xxs3cr3tValue/+yy") == f"xx{MASK}yy"


def test_very_short_values_mask_only_in_credential_fields():
    mask = SecretMask(["ab"])
    assert mask.mask("a tab and ab") == "a tab and ab"
    assert mask.mask("aws_secret_access_key: ab") == f"aws_secret_access_key: {MASK}"
