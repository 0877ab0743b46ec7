"""An asyncio micro-batcher: concurrent requests share one ``Predictor`` forward.

Why: on a CPU one forward over 8 conversations costs far less than 8 forwards over one, so
under load the service answers more requests per second than one at a time. The first
request of a batch waits at most ``max_wait_s`` for company; a batch holds at most
``max_batch_size`` conversations (a single request with more runs as its own batch). The
forward runs in one worker thread, so the event loop keeps accepting requests meanwhile,
and those that arrive during a forward form the next batch at once.

A batch that fails is retried request by request, so one bad request fails alone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from unimeec.data.schema import Conversation

log = logging.getLogger(__name__)

PredictFn = Callable[[list[Conversation]], list[Conversation]]


@dataclass
class _Job:
    conversations: list[Conversation]
    future: asyncio.Future[list[Conversation]]


@dataclass
class BatchStats:
    """Counters shown by ``GET /health`` (and checked by the tests)."""

    batches: int = 0
    requests: int = 0
    conversations: int = 0
    largest_batch: int = 0
    sizes: dict[int, int] = field(default_factory=dict)

    def record(self, jobs: Sequence[_Job]) -> None:
        size = sum(len(job.conversations) for job in jobs)
        self.batches += 1
        self.requests += len(jobs)
        self.conversations += size
        self.largest_batch = max(self.largest_batch, size)
        self.sizes[len(jobs)] = self.sizes.get(len(jobs), 0) + 1


class MicroBatcher:
    """Queue of prediction jobs, drained by one task into batched ``predict`` calls."""

    def __init__(self, predict: PredictFn, *, max_batch_size: int, max_wait_s: float) -> None:
        if max_batch_size < 1:
            raise ValueError(f"max_batch_size must be >= 1, got {max_batch_size}")
        if max_wait_s < 0:
            raise ValueError(f"max_wait_s must be >= 0, got {max_wait_s}")
        self._predict = predict
        self.max_batch_size = max_batch_size
        self.max_wait_s = max_wait_s
        self.stats = BatchStats()
        self._queue: asyncio.Queue[_Job] | None = None
        self._held: _Job | None = None  # did not fit the last batch; opens the next one
        self._task: asyncio.Task[None] | None = None
        self._executor: ThreadPoolExecutor | None = None

    async def start(self) -> None:
        self._queue = asyncio.Queue()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="unimeec-predict")
        self._task = asyncio.create_task(self._run(), name="unimeec-micro-batcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        self._task = self._executor = None

    @property
    def pending(self) -> int:
        """Jobs waiting for a forward."""
        return (self._queue.qsize() if self._queue else 0) + (self._held is not None)

    async def predict(self, conversations: list[Conversation]) -> list[Conversation]:
        """Predictions in input order; raises what ``predict`` raised for this job."""
        if self._queue is None:
            raise RuntimeError("the micro-batcher is not running (call start())")
        job = _Job(conversations, asyncio.get_running_loop().create_future())
        await self._queue.put(job)
        return await job.future

    # ------------------------------------------------------------------ the worker
    async def _next(self, timeout: float | None) -> _Job | None:
        assert self._queue is not None
        if self._held is not None:
            job, self._held = self._held, None
            return job
        if timeout is None:
            return await self._queue.get()
        if timeout <= 0:
            return self._queue.get_nowait() if not self._queue.empty() else None
        try:
            return await asyncio.wait_for(self._queue.get(), timeout)
        except asyncio.TimeoutError:
            return None

    async def _gather(self) -> list[_Job]:
        loop = asyncio.get_running_loop()
        first = await self._next(None)
        assert first is not None
        jobs, size = [first], len(first.conversations)
        deadline = loop.time() + self.max_wait_s
        while size < self.max_batch_size:
            job = await self._next(deadline - loop.time())
            if job is None:
                break
            if size + len(job.conversations) > self.max_batch_size:
                self._held = job
                break
            jobs.append(job)
            size += len(job.conversations)
        return [job for job in jobs if not job.future.done()]  # drop cancelled clients

    async def _run(self) -> None:
        while True:
            jobs = await self._gather()
            try:
                await self._execute(jobs)
            except Exception as err:  # a dead worker would hang every request
                log.exception("the micro-batcher failed on a batch; it keeps running")
                for job in jobs:
                    _settle(job, error=err)

    async def _execute(self, jobs: list[_Job]) -> None:
        if not jobs:  # every client of this batch went away
            return
        loop = asyncio.get_running_loop()
        flat = [c for job in jobs for c in job.conversations]
        self.stats.record(jobs)
        try:
            results = await loop.run_in_executor(self._executor, self._predict, flat)
        except Exception as err:  # noqa: BLE001 - delivered to the waiting request(s)
            if len(jobs) == 1:
                _settle(jobs[0], error=err)
                return
            log.info("a batch of %d requests failed (%s); retrying them one by one", len(jobs), err)
            for job in jobs:
                await self._execute([job])
            return
        offset = 0
        for job in jobs:
            n = len(job.conversations)
            _settle(job, result=results[offset : offset + n])
            offset += n


def _settle(
    job: _Job, *, result: list[Conversation] | None = None, error: BaseException | None = None
) -> None:
    if job.future.done():  # the client went away
        return
    if error is not None:
        job.future.set_exception(error)
    else:
        job.future.set_result(result or [])
