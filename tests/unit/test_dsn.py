"""DSN validation and masking: no password ever reaches a message."""

import pytest

from atomig.db.dsn import mask_dsn, parse_target
from atomig.errors import ConfigError

SECRET = "s3cr:t@p/ss"


def test_url_with_encoded_password_is_masked():
    target = parse_target(
        "postgresql://app:s3cr%3At%40p%2Fss@db.example:6432/shop?sslmode=require",
        "DATABASE_URL",
    )
    assert target.display == "postgresql://app@db.example:6432/shop"
    assert target.password == SECRET
    assert SECRET not in target.display
    assert target.scrub(f"failed for {SECRET}") == "failed for ***"


def test_key_value_dsn_is_masked():
    target = parse_target(
        f"host=db user=app password='{SECRET}' dbname=shop", "atomig.toml"
    )
    assert target.display == "postgresql://app@db/shop"


@pytest.mark.parametrize(
    "url",
    [
        "mysql://app:hunter2@db/shop",
        "not a url",
        "postgresql://app:hunter2@db:notaport/shop",
        "postgresql://app:hunter2@db/shop?bogus_option=1",
    ],
)
def test_invalid_urls_are_config_errors_without_the_password(url):
    with pytest.raises(ConfigError) as info:
        parse_target(url, "DATABASE_URL")
    rendered = f"{info.value} {info.value.hint}"
    assert "hunter2" not in rendered
    assert "DATABASE_URL" in rendered


def test_mask_socket_host():
    assert (
        mask_dsn({"host": "/run/pg", "dbname": "x", "password": "p"})
        == "postgresql://?host=/run/pg/x"
    )
