"""The DispatchService gRPC servicer: proto in, application call, proto out."""

from __future__ import annotations

from google.rpc import code_pb2

from services.core.errors import FieldViolation, InvalidArgument, PostroomError
from services.core.generated.postroom.v1 import dispatch_pb2, dispatch_pb2_grpc, events_pb2
from services.core.grpc_errors import rpc, status_for
from services.dispatch.application import Accepted, DispatchApplication, DispatchView, SuppressionView
from services.dispatch.attachments import SubmittedPart
from services.dispatch.domain import MAX_BATCH, EmailRequest, Mailbox
from services.dispatch.listing import DispatchFilter, dispatch_filter
from services.dispatch.retries import FailedDispatchRetries, Retried


class DispatchServicer(dispatch_pb2_grpc.DispatchServiceServicer):
    def __init__(self, app: DispatchApplication, retries: FailedDispatchRetries) -> None:
        self.app = app
        self.retries = retries

    @rpc
    async def SendEmail(self, request: dispatch_pb2.SendEmailRequest, context) -> dispatch_pb2.SendEmailResponse:
        (result,) = await self.app.send_emails([request_of(request)], count=1)
        if isinstance(result, PostroomError):
            raise result
        return dispatch_pb2.SendEmailResponse(dispatch_id=result.dispatch_id, status=result.status)

    @rpc
    async def SendEmailBatch(
        self, request: dispatch_pb2.SendEmailBatchRequest, context
    ) -> dispatch_pb2.SendEmailBatchResponse:
        if len(request.messages) > MAX_BATCH:
            raise InvalidArgument([FieldViolation("messages", f"at most {MAX_BATCH} messages per call")])
        results = await self.app.send_emails(
            (request_of(message) for message in request.messages), count=len(request.messages)
        )
        return dispatch_pb2.SendEmailBatchResponse(results=[_batch_result(r) for r in results])

    @rpc
    async def GetDispatch(self, request: dispatch_pb2.GetDispatchRequest, context) -> dispatch_pb2.Dispatch:
        return _dispatch(await self.app.get_dispatch(request.account_id, request.dispatch_id))

    @rpc
    async def ListDispatches(
        self, request: dispatch_pb2.ListDispatchesRequest, context
    ) -> dispatch_pb2.ListDispatchesResponse:
        views, token = await self.app.list_dispatches(
            request.account_id, _filter(request.filter), request.page_size, request.page_token
        )
        return dispatch_pb2.ListDispatchesResponse(dispatches=[_dispatch(v) for v in views], next_page_token=token)

    @rpc
    async def RetryDispatches(
        self, request: dispatch_pb2.RetryDispatchesRequest, context
    ) -> dispatch_pb2.RetryDispatchesResponse:
        wanted = _filter(request.filter) if request.HasField("filter") else None
        results = await self.retries.retry(request.account_id, request.retry_key, list(request.dispatch_ids), wanted)
        return dispatch_pb2.RetryDispatchesResponse(retried=[_retried(r) for r in results])

    @rpc
    async def UploadContent(self, request_iterator, context) -> dispatch_pb2.UploadContentResponse:
        uploaded = await self.app.upload_content(_upload_chunks(request_iterator))
        return dispatch_pb2.UploadContentResponse(content_ref=uploaded.reference, size=uploaded.size)

    @rpc
    async def SendTestEmail(
        self, request: dispatch_pb2.SendTestEmailRequest, context
    ) -> dispatch_pb2.SendTestEmailResponse:
        result = await self.app.send_test_email(request.account_id, request.provider_id, request.to)
        return dispatch_pb2.SendTestEmailResponse(
            delivered=result.delivered,
            ses_message_id=result.ses_message_id,
            smtp_code=result.smtp_code,
            smtp_reply=result.smtp_reply,
            troubleshooting_case=result.case,
            hint=result.hint,
        )

    @rpc
    async def ListSuppressions(
        self, request: dispatch_pb2.ListSuppressionsRequest, context
    ) -> dispatch_pb2.ListSuppressionsResponse:
        views, token = await self.app.list_suppressions(request.account_id, request.page_size, request.page_token)
        return dispatch_pb2.ListSuppressionsResponse(
            suppressions=[_suppression(v) for v in views], next_page_token=token
        )

    @rpc
    async def GetRecipientSuppression(
        self, request: dispatch_pb2.GetRecipientSuppressionRequest, context
    ) -> dispatch_pb2.Suppression:
        return _suppression(
            await self.app.get_recipient_suppression(request.account_id, request.email, request.list_id)
        )

    @rpc
    async def ResumeProvider(
        self, request: dispatch_pb2.ResumeProviderRequest, context
    ) -> dispatch_pb2.ResumeProviderResponse:
        resumed = await self.app.resume_provider(
            request.account_id, request.provider_id, request.resumed_by, request.reason
        )
        return dispatch_pb2.ResumeProviderResponse(
            provider_id=resumed.provider_id,
            lifted=list(resumed.lifted),
            still_paused_reason=resumed.still_paused_reason,
        )


def request_of(message: dispatch_pb2.SendEmailRequest) -> EmailRequest:
    return EmailRequest(
        account_id=message.account_id,
        provider_id=message.provider_id,
        to=_mailboxes(message.to),
        cc=_mailboxes(message.cc),
        bcc=_mailboxes(message.bcc),
        subject=message.subject,
        text_body=message.text_body,
        html_body=message.html_body,
        headers=tuple(sorted(message.headers.items())),
        reply_to=_mailbox(message.reply_to) if message.HasField("reply_to") else None,
        tags=tuple(sorted(message.tags.items())),
        list_id=message.list_id,
        idempotency_key=message.idempotency_key,
        transactional=message.transactional,
        text_body_ref=message.text_body_ref,
        html_body_ref=message.html_body_ref,
        attachments=tuple(_part(a) for a in message.attachments),
    )


def _part(attachment: dispatch_pb2.Attachment) -> SubmittedPart:
    return SubmittedPart(
        attachment.filename,
        attachment.media_type,
        attachment.content_id,
        attachment.content if attachment.WhichOneof("source") == "content" else None,
        attachment.content_ref,
    )


async def _upload_chunks(request_iterator):
    """(account_id, declared total size, chunk) of each message of the stream."""
    async for message in request_iterator:
        yield message.account_id, message.total_size, message.chunk


def _mailboxes(addresses) -> tuple[Mailbox, ...]:
    return tuple(_mailbox(a) for a in addresses)


def _mailbox(address: events_pb2.EmailAddress) -> Mailbox:
    return Mailbox(address.address, address.name)


def _batch_result(result: Accepted | PostroomError) -> dispatch_pb2.SendEmailBatchResult:
    if isinstance(result, Accepted):
        return dispatch_pb2.SendEmailBatchResult(
            dispatch_id=result.dispatch_id, status=result.status, error_code=code_pb2.OK
        )
    status = status_for(result)
    return dispatch_pb2.SendEmailBatchResult(error_code=status.code, error_message=status.message)


def _suppression(view: SuppressionView) -> dispatch_pb2.Suppression:
    message = dispatch_pb2.Suppression(
        account_id=view.account_id,
        recipient_hash=view.recipient_hash,
        suppressed=view.suppressed,
        reason=view.reason,
        list_id=view.list_id,
        recipient=view.recipient,
    )
    if view.since is not None:
        message.since.FromDatetime(view.since)
    return message


def _dispatch(view: DispatchView) -> dispatch_pb2.Dispatch:
    answer = dispatch_pb2.Dispatch(
        account_id=view.account_id,
        dispatch_id=view.dispatch_id,
        provider_id=view.provider_id,
        status=view.status,
        ses_message_id=view.ses_message_id,
        attempts=view.attempts,
        last_smtp_reply=view.last_smtp_reply,
        hint=view.hint,
        provider_paused_reason=view.provider_paused_reason,
        waiting_reason=view.waiting_reason,
        content_held=view.content_held,
        sent_by_provider_id=view.sent_by_provider_id,
        recipients=view.recipients,
        list_id=view.list_id,
        retry_of=view.retry_of,
        tags=dict(view.tags),
    )
    if view.queued_at_ms:
        answer.queued_at.FromMilliseconds(view.queued_at_ms)
    return answer


def _filter(message: dispatch_pb2.DispatchFilter) -> DispatchFilter:
    return dispatch_filter(
        statuses=tuple(
            dispatch_pb2.DispatchStatus.Name(s) if s in dispatch_pb2.DispatchStatus.values() else str(s)
            for s in message.statuses
        ),
        provider_id=message.provider_id,
        list_id=message.list_id,
        tag=message.tag,
        recipient=message.recipient,
        queued_after_ms=message.queued_after.ToMilliseconds() if message.HasField("queued_after") else None,
        queued_before_ms=message.queued_before.ToMilliseconds() if message.HasField("queued_before") else None,
    )


def _retried(result: Retried) -> dispatch_pb2.RetriedDispatch:
    if result.error is not None:
        status = status_for(result.error)
        return dispatch_pb2.RetriedDispatch(
            original_dispatch_id=result.original_dispatch_id, error_code=status.code, error_message=status.message
        )
    return dispatch_pb2.RetriedDispatch(
        original_dispatch_id=result.original_dispatch_id, dispatch_id=result.dispatch_id, status=result.status
    )
