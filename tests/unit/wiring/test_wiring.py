"""The one place clients are built: once each, on first use, rebuilt behind the same
handles after a snapshot restore, and the same for every function of a process."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from corral import snapshot, wiring
from corral.aws_clients import AwsClients
from corral.settings import Settings, get_settings
from corral.wiring import Wiring


@pytest.fixture(autouse=True)
def fresh_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    get_settings.cache_clear()
    yield
    wiring.install(None)
    wiring.reset()
    get_settings.cache_clear()


def test_a_client_is_one_per_service_in_the_region_with_standard_retries() -> None:
    clients = AwsClients("eu-west-1")
    sqs = clients.client("sqs")
    assert clients.client("sqs") is sqs and clients.client("sns") is not sqs
    assert not sqs.built, "nothing is built before its first use"
    assert sqs.meta.region_name == "eu-west-1"
    assert sqs.meta.config.retries["mode"] == "standard"


def test_a_reset_rebuilds_every_client_behind_its_handle() -> None:
    clients = AwsClients("eu-west-1")
    sqs, table = clients.client("sqs"), clients.table("jobs")
    meta, table_name = sqs.meta, table.name
    clients.reset()
    assert not sqs.built and sqs.meta is not meta
    assert table.name == table_name == "jobs"


def test_every_function_of_a_process_gets_the_same_clients() -> None:
    from queues._common import aws_client as queues_client

    process = wiring.current()
    assert process.settings.region == "eu-west-1"
    assert wiring.aws_client("dynamodb") is process.client("dynamodb")
    assert queues_client("dynamodb") is process.client("dynamodb")
    assert wiring.current() is process


def test_the_process_wiring_follows_the_settings_and_an_installed_one_wins() -> None:
    first = wiring.current()
    get_settings.cache_clear()
    second = wiring.current()
    assert second is not first and second.settings is get_settings()
    mine = Wiring(Settings(region="us-west-2"))
    wiring.install(mine)
    assert wiring.current() is mine and wiring.aws_client("sqs") is mine.client("sqs")


def test_a_part_asked_for_by_many_threads_at_once_is_built_once() -> None:
    made: list[object] = []

    def build(_: Wiring) -> object:
        time.sleep(0.05)
        made.append(object())
        return made[-1]

    w = Wiring(Settings())
    got: list[object] = []
    threads = [threading.Thread(target=lambda: got.append(w.part("x", build))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(made) == 1 and got == made * 8


def test_a_restore_reaches_the_installed_wiring_s_clients() -> None:
    mine = Wiring(Settings())
    wiring.install(mine)
    lambda_ = mine.client("lambda")
    before = lambda_.meta
    snapshot.run_after_restore()
    assert lambda_.meta is not before
