"""Masking of secrets in log lines: each pattern, and text that only looks near a secret left alone."""

from __future__ import annotations

import pytest

from otelmon.instrument.scrub import scrub

PEM = ("-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n"
       "VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n-----END RSA PRIVATE KEY-----")
JWT = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ"
       ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c")


@pytest.mark.parametrize(("text", "expected"), [
    # Connection strings: the password goes, user and host stay (a password may contain "@").
    ("connecting to postgresql://etl:s3cr3t@db.internal:5432/sales",
     "connecting to postgresql://etl:***@db.internal:5432/sales"),
    ("mysql+pymysql://etl:p@ss@db/x", "mysql+pymysql://etl:***@db/x"),
    ("redis://:hunter2@cache:6379/0", "redis://:***@cache:6379/0"),
    # key=value / key: value pairs, any case, keys that contain the word, quoted or not.
    ("login password=hunter2 user=bob", "login password=*** user=bob"),
    ("PASSWD=hunter2", "PASSWD=***"),
    ("pwd = hunter2; next", "pwd = ***; next"),
    ("GET /x?token=abc123&page=2", "GET /x?token=***&page=2"),
    ("client_secret: 9f8e7d", "client_secret: ***"),
    ("api_key=AIzaSyA-1234 apikey=zzz", "api_key=*** apikey=***"),
    ("X-Api-Key: k-123", "X-Api-Key: ***"),
    ("aws_secret_access_key=wJalrXUtnFEMI/K7MDENG", "aws_secret_access_key=***"),
    ("access_key='AbC'", "access_key='***'"),
    ('{"user": "bob", "password": "hunter2", "n": 1}', '{"user": "bob", "password": "***", "n": 1}'),
    ("{'Password': 'hunter 2'}", "{'Password': '***'}"),
    # Authorization headers, and a bearer token on its own.
    ("Authorization: Bearer abc.def.ghi", "Authorization: Bearer ***"),
    ("authorization: Basic dXNlcjpwYXNz", "authorization: Basic ***"),
    ("headers={'Authorization': 'Token 123abc'}", "headers={'Authorization': 'Token ***'}"),
    ("sent with bearer 0123456789abcdef", "sent with bearer ***"),
    # Keys of known formats, wherever they are; the prefix tells which kind it was.
    ("key id AKIAIOSFODNN7EXAMPLE used", "key id AKIA*** used"),
    ("ghp_" + "a1B2" * 9 + " pushed", "ghp_*** pushed"),
    ("github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz", "github_pat_***"),
    ("slack xoxb-123456789012-abcdefABCDEF ok", "slack xoxb-*** ok"),
    (f"jwt {JWT} end", "jwt eyJ*** end"),
    (f"key:\n{PEM}\ndone", "key:\n-----BEGIN RSA PRIVATE KEY-----***-----END RSA PRIVATE KEY-----\ndone"),
    ("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC", "-----BEGIN PRIVATE KEY-----***"),
    ("MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\nnext", "***-----END PRIVATE KEY-----\nnext"),
])
def test_each_kind_of_secret_is_masked(text, expected):
    assert scrub(text) == expected


@pytest.mark.parametrize("text", [
    "loaded 42 rows into sales.orders in 3.2 s",
    "see https://example.com/docs/page#section and http://host:8080/path?x=1",
    "user bob@example.com logged in from 10.0.0.1:5432",
    "password reset requested for bob",  # the word alone, no value
    "2026-12-01T10:00:00.123Z WARNING etl.load: retrying in 5 s (attempt 2/3)",
    "KeyError: 'customer_id'",
    "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",  # public: not a key
    "AKIA is a prefix, AKIAshort is not a key id",
])
def test_text_without_secrets_is_unchanged(text):
    assert scrub(text) == text


def test_masking_twice_changes_nothing_more():
    text = f"postgresql://u:p@h/db password=x Authorization: Bearer y {JWT}"
    once = scrub(text)
    assert "p@h" not in once and "=x" not in once and scrub(once) == once


def test_masking_a_huge_unbroken_record_takes_linear_time():
    import time

    hostile = "a-" * 100_000 + "://" + "b." * 50_000
    started = time.monotonic()
    assert scrub(hostile) == hostile
    # Quadratic backtracking over these 300 000 characters would take minutes.
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(("line", "masked"), [
    ("['mysql', '--password', 'hunter2']", "['mysql', '--password', '***']"),
    ("mysql --password hunter2 -h db", "mysql --password *** -h db"),
    ("DB_PASS=hunter2", "DB_PASS=***"),
    ("passphrase: hunter2", "passphrase: ***"),
    ("Cookie: sessionid=abc123", "Cookie: ***"),
    ("credentials=abc", "credentials=***"),
    ("private_key: abc", "private_key: ***"),
    ("X-Amz-Signature=abcdef0123", "X-Amz-Signature=***"),
])
def test_command_lines_and_the_other_words_sentry_scrubs(line, masked):
    assert scrub(line) == masked


@pytest.mark.parametrize("line", ["--passes 3", "the pass rate is 9", "bypass the cache=1", "user=bob count=3"])
def test_words_that_only_contain_pass_are_left_alone(line):
    assert scrub(line) == line
