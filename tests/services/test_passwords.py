"""Common and guessable passwords are refused wherever a password is set — change, reset, invitation,
create-user — with the reason, in the reader's language; a good one passes everywhere."""

from __future__ import annotations

import pytest
from flask_babel import force_locale

from portal.services.errors import InvalidInput
from portal.services.identity import account_users, auth, passwords
from tests.factories import PASSWORD, make_account, make_user

WEAK = {
    "password123": "common password",
    "1234567890": "common password",
    "qwertyuiop": "common password",
    "abcdefghijkl": "sequence",
    "Password1234": "common password",
    "aaaaaaaaaaaa": "repeats",
    "1999-12-311999": "date",
}
GOOD = "Seven pale lanterns drift"


@pytest.fixture(autouse=True)
def english():
    with force_locale("en"):
        yield


@pytest.mark.parametrize(("password", "why"), WEAK.items())
def test_guessable_passwords_are_refused_with_the_reason(password, why):
    with pytest.raises(InvalidInput, match=why) as refused:
        passwords.check(password, "password")
    assert refused.value.field == "password"


def test_the_person_s_own_name_or_address_is_refused():
    with pytest.raises(InvalidInput, match="your name or email"):
        passwords.check("zhangwei2026!", "password", user_inputs=("zhang.wei@huaxin.example", "Zhang Wei"))


def test_the_reason_is_in_the_reader_s_language():
    with force_locale("zh"), pytest.raises(InvalidInput) as refused:
        passwords.check("abcdefghijkl", "password")
    assert "1234" in str(refused.value) and "序列" in str(refused.value)


def test_every_place_a_password_is_set_refuses_a_guessable_one():
    user = make_user("customer", account=make_account())
    with pytest.raises(InvalidInput, match="too easy"):
        auth.change_password(user, PASSWORD, "password123", keep_session=None)
    with pytest.raises(InvalidInput, match="too easy"):
        auth.reset_password(auth.password_reset_token(user), "1234567890")
    with pytest.raises(InvalidInput, match="too easy"):
        auth.create_user(email="x@example.com", password="qwertyuiop", full_name="X", role="admin")
    admin = make_user("customer_admin", account=user.account)
    invited = account_users.invite(admin, email="new@example.com", full_name="New", role="customer")
    token = account_users.invitation_token(invited)
    with pytest.raises(InvalidInput, match="too easy"):
        account_users.accept_invitation(token, "Password1234")
    # ... and a good one passes in each.
    account_users.accept_invitation(token, GOOD)
    auth.change_password(user, PASSWORD, GOOD, keep_session=None)
