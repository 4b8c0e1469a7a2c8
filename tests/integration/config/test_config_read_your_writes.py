"""A change to a provider the config read model does not hold yet answers UNAVAILABLE, to be
retried: not as if the provider were new (its sealed secrets and version would be lost)."""

from __future__ import annotations

import grpc
import pytest

from tests.integration.config.conftest import provider_settings
from tests.integration.config.test_config_api import save


async def test_saving_over_an_event_the_read_model_lacks_is_unavailable(config_service, config):
    first = (await save(config, provider_settings())).provider
    (runner,) = config_service.components.projections
    await runner.stop()  # the read model stands still, as one far behind the log

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await save(config, provider_settings(), provider_id=first.provider_id, version=first.version)

    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "config read model is catching up" in refused.value.details()
