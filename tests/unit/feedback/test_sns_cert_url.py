"""Which URLs may be fetched for a signing certificate or visited to confirm a subscription.

GHSA-qg36-9jxh-fj25 (django-ses) let any *.amazonaws.com host through, including S3 buckets
anyone can create; the bad URLs below are that attack and the usual URL-parser confusions.
"""

import pytest

from services.feedback.sns_verifier import is_sns_signing_name, signing_cert_url_is_allowed, subscribe_url_is_allowed

PEM = "SimpleNotificationService-7ff5318490ec183fbaddaa2a969abfda.pem"

GOOD_CERT_URLS = [
    f"https://sns.us-east-1.amazonaws.com/{PEM}",
    f"https://sns.us-east-2.amazonaws.com/{PEM}",
    f"https://sns.eu-central-2.amazonaws.com/{PEM}",
    f"https://sns.ap-southeast-4.amazonaws.com/{PEM}",
    f"https://sns.il-central-1.amazonaws.com/{PEM}",
    f"https://sns.us-gov-west-1.amazonaws.com/{PEM}",
    f"https://sns.cn-north-1.amazonaws.com.cn/{PEM}",
    f"https://sns.cn-northwest-1.amazonaws.com.cn/{PEM}",
    "https://sns.us-west-2.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem",
    "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-Abc123.pem",
]

BAD_CERT_URLS = [
    # other schemes and scheme spellings
    f"http://sns.us-east-1.amazonaws.com/{PEM}",
    f"HTTPS://sns.us-east-1.amazonaws.com/{PEM}",
    f"Https://sns.us-east-1.amazonaws.com/{PEM}",
    f"//sns.us-east-1.amazonaws.com/{PEM}",
    f"https:/sns.us-east-1.amazonaws.com/{PEM}",
    f"https:\\\\sns.us-east-1.amazonaws.com\\{PEM}",
    f"ftp://sns.us-east-1.amazonaws.com/{PEM}",
    # other hosts
    f"https://sns.us-east-1.amazonaws.com.evil.com/{PEM}",
    f"https://sns.us-east-1.amazonaws.com.cn.evil.com/{PEM}",
    f"https://sns-bucket.s3.amazonaws.com/{PEM}",
    f"https://bucket.s3.us-east-1.amazonaws.com/{PEM}",
    f"https://s3.amazonaws.com/sns-bucket/{PEM}",
    f"https://sns.s3.amazonaws.com/{PEM}",
    f"https://sns.us-east-1.amazonaws.com.s3.amazonaws.com/{PEM}",
    f"https://sqs.us-east-1.amazonaws.com/{PEM}",
    f"https://xsns.us-east-1.amazonaws.com/{PEM}",
    f"https://sns.amazonaws.com/{PEM}",
    f"https://sns.us-east-1.amazonaws.co/{PEM}",
    f"https://sns.us-east-1.amazonawsXcom/{PEM}",
    f"https://sns.us-east-1.amazonaws.com./{PEM}",
    f"https://SNS.US-EAST-1.AMAZONAWS.COM/{PEM}",
    f"https://sns.us-east-1.amazonaws\u3002com/{PEM}",
    f"https://evil.com/{PEM}",
    f"https://127.0.0.1/{PEM}",
    # userinfo and ports
    f"https://user@sns.us-east-1.amazonaws.com/{PEM}",
    f"https://user:pass@sns.us-east-1.amazonaws.com/{PEM}",
    f"https://sns.us-east-1.amazonaws.com@evil.com/{PEM}",
    f"https://sns.us-east-1.amazonaws.com:443/{PEM}",
    f"https://sns.us-east-1.amazonaws.com:8443/{PEM}",
    # percent-escapes and backslashes
    f"https://sns.us-east-1.amazonaws.com%2Eevil.com/{PEM}",
    f"https://sns.us-east-1.amazonaws.com%40evil.com/{PEM}",
    "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-%2e%2e.pem",
    f"https://sns.us-east-1.amazonaws.com/%2e%2e/{PEM}",
    f"https://sns.us-east-1.amazonaws.com\\@evil.com/{PEM}",
    f"https://evil.com\\.sns.us-east-1.amazonaws.com/{PEM}",
    f"https://sns.us-east-1.amazonaws.com\\{PEM}",
    # paths, queries, fragments
    f"https://sns.us-east-1.amazonaws.com/{PEM}?x=1",
    f"https://sns.us-east-1.amazonaws.com/{PEM}#x",
    f"https://sns.us-east-1.amazonaws.com/../{PEM}",
    f"https://sns.us-east-1.amazonaws.com/path/{PEM}",
    f"https://sns.us-east-1.amazonaws.com//{PEM}",
    "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-.pem",
    "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.PEM",
    "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem.evil",
    "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-a-b.pem",
    "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem%00",
    "https://sns.us-east-1.amazonaws.com/OtherService-abc.pem",
    "https://sns.us-east-1.amazonaws.com/",
    "https://sns.us-east-1.amazonaws.com",
    # whitespace and control characters
    f" https://sns.us-east-1.amazonaws.com/{PEM}",
    f"https://sns.us-east-1.amazonaws.com/{PEM} ",
    f"https://sns.us-east-1.amazonaws.com/{PEM}\n",
    f"https://sns.us-east-1.amazon\taws.com/{PEM}",
    "",
]


@pytest.mark.parametrize("url", GOOD_CERT_URLS)
def test_sns_certificate_url_is_allowed(url: str) -> None:
    assert signing_cert_url_is_allowed(url)


@pytest.mark.parametrize("url", BAD_CERT_URLS)
def test_other_certificate_url_is_refused(url: str) -> None:
    assert not signing_cert_url_is_allowed(url)


@pytest.mark.parametrize("value", [None, 42, b"https://sns.us-east-1.amazonaws.com/" + PEM.encode(), ["https://"]])
def test_certificate_url_that_is_not_text_is_refused(value: object) -> None:
    assert not signing_cert_url_is_allowed(value)


SUBSCRIBE_QUERY = (
    "?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-west-2:123456789012:MyTopic"
    "&Token=2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a747ba6f3beb71854e285d6ad02428b09ceece29417f1f02d609c582afbacc99c583a916b9981dd2728f4ae6fdb82efd087cc3b7849e05798d2d2785c03b0879594eeac82c01f235d0e717736"
)

GOOD_SUBSCRIBE_URLS = [
    f"https://sns.us-west-2.amazonaws.com/{SUBSCRIBE_QUERY}",
    f"https://sns.cn-north-1.amazonaws.com.cn/{SUBSCRIBE_QUERY}",
    "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A1%3At&Token=ab",
    "https://sns.us-east-1.amazonaws.com/",
]

BAD_SUBSCRIBE_URLS = [
    f"http://sns.us-west-2.amazonaws.com/{SUBSCRIBE_QUERY}",
    f"https://sns.us-west-2.amazonaws.com.evil.com/{SUBSCRIBE_QUERY}",
    f"https://sns-bucket.s3.amazonaws.com/{SUBSCRIBE_QUERY}",
    f"https://user@sns.us-west-2.amazonaws.com/{SUBSCRIBE_QUERY}",
    f"https://sns.us-west-2.amazonaws.com:443/{SUBSCRIBE_QUERY}",
    f"https://sns.us-west-2.amazonaws.com/{SUBSCRIBE_QUERY}#fragment",
    f"https://sns.us-west-2.amazonaws.com/redirect{SUBSCRIBE_QUERY}",
    f"https://sns.us-west-2.amazonaws.com\\@evil.com/{SUBSCRIBE_QUERY}",
    f"https://sns.us-west-2.amazonaws.com/{SUBSCRIBE_QUERY}\\x",
    f"https://sns.us-west-2.amazonaws.com/{SUBSCRIBE_QUERY} x",
    f"https://sns.us-west-2.amazonaws.com/{SUBSCRIBE_QUERY}\n",
    "https://sns.us-west-2.amazonaws.com",
]


@pytest.mark.parametrize("url", GOOD_SUBSCRIBE_URLS)
def test_sns_subscribe_url_is_allowed(url: str) -> None:
    assert subscribe_url_is_allowed(url)


@pytest.mark.parametrize("url", BAD_SUBSCRIBE_URLS)
def test_other_subscribe_url_is_refused(url: str) -> None:
    assert not subscribe_url_is_allowed(url)


@pytest.mark.parametrize(
    "name",
    [
        "sns.amazonaws.com",
        "sns.amazonaws.com.cn",
        "sns.us-east-1.amazonaws.com",
        "sns.cn-north-1.amazonaws.com.cn",
        "sns-signing.us-east-1.amazonaws.com",
    ],
)
def test_sns_signing_name_is_recognised(name: str) -> None:
    assert is_sns_signing_name(name)


@pytest.mark.parametrize(
    "name", ["evil.com", "sns.amazonaws.com.evil.com", "s3.amazonaws.com", "*.amazonaws.com", "sns.evil.com", ""]
)
def test_other_certificate_name_is_not_an_sns_signing_name(name: str) -> None:
    assert not is_sns_signing_name(name)
