"""Failed jobs over GraphQL: superadmins list and requeue them; nobody else sees them."""

from __future__ import annotations

from redis import Redis

from boka.jobs.retry import RetryPolicy
from boka.models.tenancy import Role
from tests.conftest import TEST_REDIS_URL
from tests.jobs import probe_jobs
from tests.jobs.workers import run_worker, worker_env
from tests.support import GraphQLClient, World

FAILED = "{ failedJobs { id databaseId queue function arguments error failedAt } }"
NODE = "query($id: ID!) { node(id: $id) { __typename ... on FailedJob { databaseId queue } } }"
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
    [job] = listed.data["failedJobs"]
    # A failed job is a Node: its global id finds it for a superadmin, and for nobody else.
    found = await gql(NODE, {"id": job["id"]}, token=admin.token)
    hidden = await gql(NODE, {"id": job["id"]}, token=owner.token, tenant="salon")
    assert found.data["node"] == {"__typename": "FailedJob", "databaseId": "doomed", "queue": "default"}
    assert hidden.errors == [] and hidden.data["node"] is None
    requeued = await gql(REQUEUE, {"id": job["id"]}, token=admin.token)  # the global id
    unknown = await gql(REQUEUE, {"id": "no-such-job"}, token=admin.token)
    run_worker("--burst", env=worker_env(TEST_REDIS_URL))

    assert (job["databaseId"], job["queue"], job["function"]) == ("doomed", "default", "tests.jobs.probe_jobs.flaky")
    assert job["arguments"] == [TEST_REDIS_URL, "runs", "1"]
    assert "run 1 of runs fails on purpose" in job["error"]
    assert refused.error_codes == ["FORBIDDEN"]
    assert requeued.data["requeueFailedJob"] == {"requeued": True, "errors": []}
    assert unknown.data["requeueFailedJob"]["errors"][0]["code"] == "INVALID_INPUT"
    assert Redis.from_url(TEST_REDIS_URL).get("runs") == b"2"  # ran again, and succeeded
    assert (await gql(FAILED, token=admin.token)).data["failedJobs"] == []
