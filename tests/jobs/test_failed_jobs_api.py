"""Failed jobs over GraphQL: superadmins list and requeue them; nobody else sees them."""

from __future__ import annotations

from redis import Redis

from boka.jobs.retry import RetryPolicy
from boka.models.tenancy import Role
from tests.conftest import TEST_REDIS_URL
from tests.jobs import probe_jobs
from tests.jobs.workers import run_worker, worker_env
from tests.support import GraphQLClient, World

FAILED = "{ failedJobs { id queue function arguments error failedAt } }"
REQUEUE = """mutation($id: ID!) { requeueFailedJob(input: {id: $id}) {
  requeued errors { field code message } } }"""


async def test_a_superadmin_lists_and_requeues_failed_jobs(app, gql: GraphQLClient, world: World) -> None:  # type: ignore[no-untyped-def]
    jobs = app.state.runtime.jobs
    await jobs.enqueue(probe_jobs.flaky, TEST_REDIS_URL, "runs", 1, job_id="doomed",
                       retry=RetryPolicy.none())
    run_worker("--burst", env=worker_env(TEST_REDIS_URL))
    tenant = await world.tenant("salon")
    admin = await world.person(None, None, superadmin=True)
    owner = await world.person(tenant, Role.OWNER)

    listed = await gql(FAILED, token=admin.token)
    refused = await gql(FAILED, token=owner.token, tenant="salon")
    requeued = await gql(REQUEUE, {"id": "doomed"}, token=admin.token)
    unknown = await gql(REQUEUE, {"id": "no-such-job"}, token=admin.token)
    run_worker("--burst", env=worker_env(TEST_REDIS_URL))

    [job] = listed.data["failedJobs"]
    assert (job["id"], job["queue"], job["function"]) == ("doomed", "default", "tests.jobs.probe_jobs.flaky")
    assert job["arguments"] == [TEST_REDIS_URL, "runs", "1"]
    assert "run 1 of runs fails on purpose" in job["error"]
    assert refused.error_codes == ["FORBIDDEN"]
    assert requeued.data["requeueFailedJob"] == {"requeued": True, "errors": []}
    assert unknown.data["requeueFailedJob"]["errors"][0]["code"] == "INVALID_INPUT"
    assert Redis.from_url(TEST_REDIS_URL).get("runs") == b"2"  # ran again, and succeeded
    assert (await gql(FAILED, token=admin.token)).data["failedJobs"] == []
