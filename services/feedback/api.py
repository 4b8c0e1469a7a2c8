"""The FeedbackService gRPC servicer: proto in, application call, proto out."""

from __future__ import annotations

from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp

from services.core.generated.postroom.v1 import feedback_pb2, feedback_pb2_grpc
from services.core.grpc_errors import rpc
from services.feedback.application import FeedbackApplication
from services.feedback.projection import FeedbackRecordView


class FeedbackServicer(feedback_pb2_grpc.FeedbackServiceServicer):
    def __init__(self, app: FeedbackApplication) -> None:
        self.app = app

    @rpc
    async def GetRecipientStatus(
        self, request: feedback_pb2.GetRecipientStatusRequest, context
    ) -> feedback_pb2.RecipientStatus:
        status = await self.app.recipient_status(request.account_id, request.email)
        reason = status.suppression_reason
        return feedback_pb2.RecipientStatus(
            account_id=status.account_id,
            recipient_hash=status.recipient_hash,
            suppressed=reason is not None,
            suppression_reason=reason.value if reason else "",
            recent=[_record(r) for r in status.recent],
            soft_bounces=status.soft_bounces,
        )

    @rpc
    async def ListFeedback(
        self, request: feedback_pb2.ListFeedbackRequest, context
    ) -> feedback_pb2.ListFeedbackResponse:
        views, token = await self.app.list_feedback(
            request.account_id, request.provider_id, request.kind, request.email, request.page_size, request.page_token
        )
        return feedback_pb2.ListFeedbackResponse(records=[_record(v) for v in views], next_page_token=token)

    @rpc
    async def GetProviderStats(
        self, request: feedback_pb2.GetProviderStatsRequest, context
    ) -> feedback_pb2.ProviderStats:
        rates, days = await self.app.provider_stats(request.account_id, request.provider_id, request.window_days)
        counts = rates.counts
        return feedback_pb2.ProviderStats(
            sent=counts.sent,
            delivered=counts.delivered,
            bounced=counts.bounced,
            complained=counts.complained,
            soft_bounced=counts.soft_bounced,
            bounce_rate=rates.bounce_rate,
            complaint_rate=rates.complaint_rate,
            bounce_rate_over_review_line=rates.bounce_rate_over_review_line,
            complaint_rate_over_review_line=rates.complaint_rate_over_review_line,
            window_days=days,
        )


def _record(view: FeedbackRecordView) -> feedback_pb2.FeedbackRecord:
    return feedback_pb2.FeedbackRecord(
        kind=view.kind,
        provider_id=view.provider_id,
        recipient=view.recipient,
        bounce_type=view.bounce_type,
        bounce_subtype=view.bounce_subtype,
        feedback_type=view.feedback_type,
        diagnostic_code=view.diagnostic_code,
        ses_message_id=view.ses_message_id,
        dispatch_id=view.dispatch_id,
        occurred_at=_timestamp(view.occurred_at),
        status=view.status,
        sequence=view.sequence,
    )


def _timestamp(moment: datetime) -> Timestamp:
    timestamp = Timestamp()
    timestamp.FromDatetime(moment)
    return timestamp
