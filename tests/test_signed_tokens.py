"""One signed-token implementation (boka/signed_tokens.py) behind the guest booking links,
the waitlist claim links and the unsubscribe links. Their tokens are in messages already sent,
so the format is pinned: these strings were made by the implementations this one replaced."""

from __future__ import annotations

import uuid

import pytest

from boka.booking.links import (
    booking_id_from_token,
    linked_booking,
    manage_token,
    offer_id_from_token,
    offer_token,
    proof_token,
)
from boka.notifications.preferences import customer_id_from_unsubscribe_token, unsubscribe_token

SECRET = "k" * 32
ID = uuid.UUID("12345678-1234-5678-1234-567812345678")
SENT = {
    "manage": "bkm_EjRWeBI0VngSNFZ4EjRWeA.vNmMiCMd4IiTY0KKt5fLEFJD_FUO72v0",
    "proof": "bkp_EjRWeBI0VngSNFZ4EjRWeA.S4etu82pwxKHz0FJ9bL58dhaqVYP642Q",
    "offer": "wlo_EjRWeBI0VngSNFZ4EjRWeA.EWZY1UsySQDmfH2H2oido7U9c1wI5NfQ",
    "unsubscribe": "bku_EjRWeBI0VngSNFZ4EjRWeA.zb_yts8hBlGV6THlk77OooZdKV1QBrMr",
}


def test_tokens_are_made_as_before() -> None:
    assert manage_token(SECRET, ID) == SENT["manage"]
    assert proof_token(SECRET, ID) == SENT["proof"]
    assert offer_token(SECRET, ID) == SENT["offer"]
    assert unsubscribe_token(SECRET, ID) == SENT["unsubscribe"]


def test_tokens_already_sent_still_verify() -> None:
    assert linked_booking(SECRET, SENT["manage"]) is not None
    assert linked_booking(SECRET, SENT["manage"]).proves_email is False  # type: ignore[union-attr]
    assert linked_booking(SECRET, SENT["proof"]).proves_email is True  # type: ignore[union-attr]
    assert booking_id_from_token(SECRET, SENT["proof"]) == ID
    assert offer_id_from_token(SECRET, SENT["offer"]) == ID
    assert customer_id_from_unsubscribe_token(SECRET, SENT["unsubscribe"]) == ID


def test_a_token_is_good_for_its_own_purpose_only() -> None:
    # The same id, the prefix swapped: the signature covers the purpose, so it fails.
    swapped = {
        "bkm_": SENT["unsubscribe"].replace("bku_", "bkm_"),
        "wlo_": SENT["manage"].replace("bkm_", "wlo_"),
        "bku_": SENT["offer"].replace("wlo_", "bku_"),
        "bkp_": SENT["manage"].replace("bkm_", "bkp_"),
    }
    assert linked_booking(SECRET, swapped["bkm_"]) is None
    assert linked_booking(SECRET, swapped["bkp_"]) is None
    assert offer_id_from_token(SECRET, swapped["wlo_"]) is None
    assert customer_id_from_unsubscribe_token(SECRET, swapped["bku_"]) is None
    assert offer_id_from_token(SECRET, SENT["manage"]) is None
    assert customer_id_from_unsubscribe_token(SECRET, SENT["offer"]) is None


@pytest.mark.parametrize("token", [
    "", "bkm_", "bkm_.", "bkm_abc", "bkm_!!!.x", "bkm_EjRWeBI0VngSNFZ4EjRWeA.",
    "bkm_EjRWeBI0VngSNFZ4EjRW.vNmMiCMd4IiTY0KKt5fLEFJD_FUO72v0",  # 12 bytes, not a uuid
    "bkm_EjRWeBI0VngSNFZ4EjRWeA.vNmMiCMd4IiTY0KKt5fLEFJD_FUO72v1",  # one character off
    "bkm_ÉjRWeBI0VngSNFZ4EjRWeA.vNmMiCMd4IiTY0KKt5fLEFJD_FUO72v0",  # not ASCII
    "bkm_EjRWeBI0VngSNFZ4EjRWeA.vNmMiCMd4IiTY0KKt5fLEFJD_FUO72v0é",
])
def test_malformed_or_altered_tokens_name_nothing(token: str) -> None:
    assert linked_booking(SECRET, token) is None
    assert customer_id_from_unsubscribe_token(SECRET, token.replace("bkm_", "bku_")) is None


def test_another_secret_key_revokes_every_token() -> None:
    other = "o" * 32
    assert linked_booking(other, SENT["manage"]) is None
    assert offer_id_from_token(other, SENT["offer"]) is None
    assert customer_id_from_unsubscribe_token(other, SENT["unsubscribe"]) is None
