"""The DispatchService gRPC servicer: proto in, application call, proto out."""

from __future__ import annotations

from google.rpc import code_pb2

from services.core.errors import FieldViolation, InvalidArgument, PostroomError
from services.core.generated.postroom.v1 import dispatch_pb2, dispatch_pb2_grpc, events_pb2
from services.core.grpc_errors import rpc, status_for
from services.dispatch.application import Accepted, DispatchApplication, SuppressionView
from services.dispatch.domain import MAX_BATCH, EmailRequest, Mailbox


class DispatchServicer(dispatch_pb2_grpc.DispatchServiceServicer):
    def __init__(self, app: DispatchApplication) -> None:
        self.app = app

    @rpc
    async def SendEmail(self, request: dispatch_pb2.SendEmailRequest, context) -> dispatch_pb2.SendEmailResponse:
        (result,) = await self.app.send_emails([request_of(request)])
        if isinstance(result, PostroomError):
            raise result
        return dispatch_pb2.SendEmailResponse(dispatch_id=result.dispatch_id, status=result.status)

    @rpc
    async def SendEmailBatch(self, request: dispatch_pb2.SendEmailBatchRequest, context
                             ) -> dispatch_pb2.SendEmailBatchResponse:
        if len(request.messages) > MAX_BATCH:
            raise InvalidArgument([FieldViolation("messages", f"at most {MAX_BATCH} messages per call")])
        results = await self.app.send_emails([request_of(message) for message in request.messages])
        return dispatch_pb2.SendEmailBatchResponse(results=[_batch_result(r) for r in results])

    @rpc
    async def GetDispatch(self, request: dispatch_pb2.GetDispatchRequest, context) -> dispatch_pb2.Dispatch:
        view = await self.app.get_dispatch(request.account_id, request.dispatch_id)
        return dispatch_pb2.Dispatch(
            account_id=view.account_id, dispatch_id=view.dispatch_id, provider_id=view.provider_id,
            status=view.status, ses_message_id=view.ses_message_id, attempts=view.attempts,
            last_smtp_reply=view.last_smtp_reply, hint=view.hint, provider_paused_reason=view.provider_paused_reason,
            waiting_reason=view.waiting_reason, sent_by_provider_id=view.sent_by_provider_id)

    @rpc
    async def SendTestEmail(self, request: dispatch_pb2.SendTestEmailRequest, context
                            ) -> dispatch_pb2.SendTestEmailResponse:
        result = await self.app.send_test_email(request.account_id, request.provider_id, request.to)
        return dispatch_pb2.SendTestEmailResponse(
            delivered=result.delivered, ses_message_id=result.ses_message_id, smtp_code=result.smtp_code,
            smtp_reply=result.smtp_reply, troubleshooting_case=result.case, hint=result.hint)

    @rpc
    async def ListSuppressions(self, request: dispatch_pb2.ListSuppressionsRequest, context
                               ) -> dispatch_pb2.ListSuppressionsResponse:
        views, token = await self.app.list_suppressions(request.account_id, request.page_size, request.page_token)
        return dispatch_pb2.ListSuppressionsResponse(suppressions=[_suppression(v) for v in views],
                                                     next_page_token=token)

    @rpc
    async def GetRecipientSuppression(self, request: dispatch_pb2.GetRecipientSuppressionRequest, context
                                      ) -> dispatch_pb2.Suppression:
        return _suppression(await self.app.get_recipient_suppression(request.account_id, request.email,
                                                                     request.list_id))

    @rpc
    async def ResumeProvider(self, request: dispatch_pb2.ResumeProviderRequest, context
                             ) -> dispatch_pb2.ResumeProviderResponse:
        resumed = await self.app.resume_provider(request.account_id, request.provider_id, request.resumed_by,
                                                 request.reason)
        return dispatch_pb2.ResumeProviderResponse(provider_id=resumed.provider_id, lifted=list(resumed.lifted),
                                                   still_paused_reason=resumed.still_paused_reason)


def request_of(message: dispatch_pb2.SendEmailRequest) -> EmailRequest:
    return EmailRequest(
        account_id=message.account_id, provider_id=message.provider_id, to=_mailboxes(message.to),
        cc=_mailboxes(message.cc), bcc=_mailboxes(message.bcc), subject=message.subject,
        text_body=message.text_body, html_body=message.html_body, headers=tuple(sorted(message.headers.items())),
        reply_to=_mailbox(message.reply_to) if message.HasField("reply_to") else None,
        tags=tuple(sorted(message.tags.items())), list_id=message.list_id, idempotency_key=message.idempotency_key,
        transactional=message.transactional)


def _mailboxes(addresses) -> tuple[Mailbox, ...]:
    return tuple(_mailbox(a) for a in addresses)


def _mailbox(address: events_pb2.EmailAddress) -> Mailbox:
    return Mailbox(address.address, address.name)


def _batch_result(result: Accepted | PostroomError) -> dispatch_pb2.SendEmailBatchResult:
    if isinstance(result, Accepted):
        return dispatch_pb2.SendEmailBatchResult(dispatch_id=result.dispatch_id, status=result.status,
                                                 error_code=code_pb2.OK)
    status = status_for(result)
    return dispatch_pb2.SendEmailBatchResult(error_code=status.code, error_message=status.message)


def _suppression(view: SuppressionView) -> dispatch_pb2.Suppression:
    return dispatch_pb2.Suppression(account_id=view.account_id, recipient_hash=view.recipient_hash,
                                    suppressed=view.suppressed, reason=view.reason, list_id=view.list_id,
                                    recipient=view.recipient)
