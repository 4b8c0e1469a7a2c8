"""The UnsubscribeService gRPC servicer: proto in, application call, proto out."""

from __future__ import annotations

from services.core.generated.postroom.v1 import unsubscribe_pb2, unsubscribe_pb2_grpc
from services.core.grpc_errors import rpc
from services.unsubscribe import domain
from services.unsubscribe.application import UnsubscribeApplication
from services.unsubscribe.domain import SubscriptionState, UnsubscribeCommand, UnsubscribeEntry


class UnsubscribeServicer(unsubscribe_pb2_grpc.UnsubscribeServiceServicer):
    def __init__(self, app: UnsubscribeApplication) -> None:
        self.app = app

    @rpc
    async def Unsubscribe(
        self, request: unsubscribe_pb2.UnsubscribeRequest, context
    ) -> unsubscribe_pb2.SubscriptionStatus:
        state = await self.app.unsubscribe(
            UnsubscribeCommand(
                account_id=request.account_id,
                email=request.email,
                list_id=request.list_id,
                reason=request.reason,
                source=request.source or domain.API,
                dispatch_id=request.dispatch_id,
            )
        )
        return _status(state)

    @rpc
    async def Resubscribe(
        self, request: unsubscribe_pb2.ResubscribeRequest, context
    ) -> unsubscribe_pb2.SubscriptionStatus:
        return _status(
            await self.app.resubscribe(
                request.account_id,
                request.email,
                request.list_id,
                request.source or domain.API,
                request.remove_from_ses,
            )
        )

    @rpc
    async def GetStatus(self, request: unsubscribe_pb2.GetStatusRequest, context) -> unsubscribe_pb2.SubscriptionStatus:
        return _status(await self.app.status(request.account_id, request.email, request.recipient_hash))

    @rpc
    async def ListUnsubscribes(
        self, request: unsubscribe_pb2.ListUnsubscribesRequest, context
    ) -> unsubscribe_pb2.ListUnsubscribesResponse:
        entries, token = await self.app.list_unsubscribes(request.account_id, request.page_size, request.page_token)
        return unsubscribe_pb2.ListUnsubscribesResponse(entries=[_entry(e) for e in entries], next_page_token=token)

    @rpc
    async def CreateUnsubscribeLink(
        self, request: unsubscribe_pb2.CreateUnsubscribeLinkRequest, context
    ) -> unsubscribe_pb2.UnsubscribeLink:
        link = self.app.create_link(request.account_id, request.email, request.list_id, request.dispatch_id)
        return unsubscribe_pb2.UnsubscribeLink(
            url=link.url,
            token=link.token,
            list_unsubscribe_header=link.headers["List-Unsubscribe"],
            list_unsubscribe_post_header=link.headers["List-Unsubscribe-Post"],
        )


def _status(state: SubscriptionState) -> unsubscribe_pb2.SubscriptionStatus:
    return unsubscribe_pb2.SubscriptionStatus(
        account_id=state.account_id,
        recipient_hash=state.recipient_hash,
        globally_unsubscribed=state.globally_unsubscribed,
        unsubscribed_lists=list(state.unsubscribed_lists),
        changed=state.changed,
        ses_suppressed=bool(state.ses_suppressed_by),
        ses_suppressed_by=list(state.ses_suppressed_by),
        ses_removal_requested=state.ses_removal_requested,
    )


def _entry(entry: UnsubscribeEntry) -> unsubscribe_pb2.UnsubscribeEntry:
    message = unsubscribe_pb2.UnsubscribeEntry(
        recipient_hash=entry.recipient_hash,
        list_id=entry.list_id,
        reason=entry.reason,
        source=entry.source,
        dispatch_id=entry.dispatch_id,
    )
    message.unsubscribed_at.FromDatetime(entry.unsubscribed_at)
    return message
