import pytest

from services.core.access_tokens import AccessTokens, TokenSpecError, new_token, token_digest, token_entry
from services.core.account_scope import accounts_named_by, refusal
from services.core.generated.postroom.v1 import dispatch_pb2


def test_entries_from_the_variable_and_the_file_grant_their_accounts(tmp_path):
    alice, ops = new_token(), new_token()
    token_file = tmp_path / "tokens"
    token_file.write_text(f"# ops\n{token_entry(ops, [])}  # every account\n")
    tokens = AccessTokens.from_sources("legacy", f"{token_entry(alice, ['alice', 'alice-eu'])};", str(token_file))
    assert tokens.grant_for(alice).accounts == {"alice", "alice-eu"}
    assert tokens.grant_for(ops).every_account
    assert tokens.grant_for("legacy").every_account
    assert tokens.grant_for("guess") is None


def test_only_digests_are_kept():
    token = new_token()
    entry = token_entry(token, ["a"])
    assert token not in entry and token_digest(token) in entry and len(token) >= 43


@pytest.mark.parametrize("spec", ["not-a-digest=all", f"{'a' * 64}=", f"{'a' * 63}=acme"])
def test_a_bad_entry_is_named_without_echoing_it(spec):
    with pytest.raises(TokenSpecError) as error:
        AccessTokens.from_sources(entries=spec)
    assert "entry 1" in str(error.value) and spec not in str(error.value)


def test_no_token_at_all_is_refused_at_start():
    with pytest.raises(TokenSpecError, match="POSTROOM_API_TOKEN"):
        AccessTokens.from_sources()


def test_a_batch_names_every_item_account_and_each_must_be_granted():
    batch = dispatch_pb2.SendEmailBatchRequest(
        messages=[dispatch_pb2.SendEmailRequest(account_id="a"), dispatch_pb2.SendEmailRequest(account_id="b")]
    )
    assert accounts_named_by(batch) == ["a", "b"]
    grant = AccessTokens.from_sources(entries=token_entry("t", ["a"])).grant_for("t")
    assert "'b'" in refusal(grant, batch)
    assert refusal(grant, dispatch_pb2.GetDispatchRequest(account_id="a")) is None
    assert refusal(grant, dispatch_pb2.GetDispatchRequest()) is not None
    assert refusal(grant, dispatch_pb2.SendEmailBatchRequest()) is not None
