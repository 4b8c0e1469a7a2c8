"""Every RPC of every service, read from the proto descriptors (a new RPC is covered the day it is
added), refuses a token scoped to another account, and lets the account's own token past the gate."""

from __future__ import annotations

from dataclasses import replace

import grpc
import pytest
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass

from services.config import main as config_main
from services.core.access_tokens import token_entry
from services.core.account_scope import ACCOUNT_FIELD
from services.core.event_store import EventStore
from services.core.metrics import GRPC_REQUESTS
from services.core.generated.postroom.v1 import config_pb2, dispatch_pb2, feedback_pb2, unsubscribe_pb2
from services.core.runtime import start_service
from services.dispatch import main as dispatch_main
from services.feedback import main as feedback_main
from services.unsubscribe import main as unsubscribe_main
from tests.conftest import TEST_TOKEN
from tests.support.streams import delete_test_streams
from tests.support.unsubscribe import with_unsubscribe_key

ALICE_TOKEN = "alice-token-5b1c0f3e9d8a7c6b5a4f3e2d1c0b9a87"
BOTH_TOKEN = "both-token-0f1e2d3c4b5a69788796a5b4c3d2e1f0"
SERVICES = {
    "config": (config_pb2, config_main),
    "dispatch": (dispatch_pb2, dispatch_main),
    "feedback": (feedback_pb2, feedback_main),
    "unsubscribe": (unsubscribe_pb2, unsubscribe_main),
}


def every_rpc():
    for service_name, (module, _main) in SERVICES.items():
        for service in module.DESCRIPTOR.services_by_name.values():
            for method in service.methods:
                yield pytest.param(service_name, method, id=f"{service.name}.{method.name}")


def request_for(method, account: str) -> Message:
    request = GetMessageClass(method.input_type)()
    name_account(request, account)
    return request


def name_account(message: Message, account: str) -> None:
    """Sets account_id wherever the request has one, adding one item to each repeated message field."""
    if ACCOUNT_FIELD in message.DESCRIPTOR.fields_by_name:
        setattr(message, ACCOUNT_FIELD, account)
    for field in message.DESCRIPTOR.fields:
        if field.message_type is None or field.message_type.GetOptions().map_entry:
            continue
        if field.is_repeated:
            name_account(getattr(message, field.name).add(), account)
        elif ACCOUNT_FIELD in field.message_type.fields_by_name:
            name_account(getattr(message, field.name), account)


@pytest.fixture(scope="module")
def tokens_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("tokens") / "api-tokens"
    path.write_text(f"# alice's product\n{token_entry(ALICE_TOKEN, ['alice'])}\n")
    return path


@pytest.fixture
async def suite(settings, tokens_file):
    scoped = replace(
        with_unsubscribe_key(settings),
        api_tokens=token_entry(BOTH_TOKEN, ["alice", "bob"]),
        api_tokens_file=str(tokens_file),
    )
    running = {}
    try:
        for name, (_module, main) in SERVICES.items():
            running[name] = await start_service(name, scoped, main.build)
        yield running
    finally:
        for service in running.values():
            await service.stop()
        store = await EventStore.connect(scoped)
        await delete_test_streams(store)
        await store.close()


async def call(service, method, request: Message, token: str) -> grpc.StatusCode:
    response_class = GetMessageClass(method.output_type)
    path = f"/{method.containing_service.full_name}/{method.name}"
    async with grpc.aio.insecure_channel(f"127.0.0.1:{service.grpc_port}") as channel:
        rpc = channel.unary_unary(
            path, request_serializer=type(request).SerializeToString, response_deserializer=response_class.FromString
        )
        try:
            await rpc(request, metadata=(("authorization", f"Bearer {token}"),), timeout=10)
        except grpc.aio.AioRpcError as error:
            return error.code()
        return grpc.StatusCode.OK


@pytest.mark.parametrize(("service_name", "method"), list(every_rpc()))
async def test_a_token_for_another_account_is_denied_in_every_rpc(suite, service_name, method):
    service = suite[service_name]
    assert await call(service, method, request_for(method, "bob"), ALICE_TOKEN) == grpc.StatusCode.PERMISSION_DENIED
    assert await call(service, method, request_for(method, ""), ALICE_TOKEN) == grpc.StatusCode.PERMISSION_DENIED
    gate = (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED)
    assert await call(service, method, request_for(method, "alice"), ALICE_TOKEN) not in gate
    assert await call(service, method, request_for(method, "bob"), BOTH_TOKEN) not in gate
    assert await call(service, method, request_for(method, "bob"), TEST_TOKEN) not in gate, (
        "the single POSTROOM_API_TOKEN is an all-accounts token"
    )
    assert await call(service, method, request_for(method, "bob"), "unknown-token") == grpc.StatusCode.UNAUTHENTICATED


async def test_a_batch_naming_another_account_in_any_item_is_denied(suite):
    batch = dispatch_pb2.SendEmailBatchRequest(
        messages=[dispatch_pb2.SendEmailRequest(account_id="alice"), dispatch_pb2.SendEmailRequest(account_id="bob")]
    )
    method = dispatch_pb2.DESCRIPTOR.services_by_name["DispatchService"].methods_by_name["SendEmailBatch"]
    denied = GRPC_REQUESTS.labels("SendEmailBatch", "PERMISSION_DENIED")
    before = denied._value.get()
    assert await call(suite["dispatch"], method, batch, ALICE_TOKEN) == grpc.StatusCode.PERMISSION_DENIED
    assert denied._value.get() == before + 1, "a refused call shows on the gRPC errors panel"
