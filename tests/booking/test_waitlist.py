

async def test_hostile_input_never_becomes_an_internal_error(gql: GraphQLClient, world: World) -> None:
    salon = await salon_with_a_full_morning(gql, world)
    customer = await world.person(salon.tenant, Role.CUSTOMER)
    documents = [
        (JOIN_SESSION, {"input": {"serviceId": salon.staffed.service_id, "seats": 2**31 - 1}}),
        (JOIN_SESSION, {"input": {"serviceId": salon.staffed.service_id, "seats": -5}}),
        (JOIN_SESSION, {"input": {"serviceId": salon.staffed.service_id, "earliest": "9999-12-31T23:00:00-12:00"}}),
        (JOIN_SESSION, {"input": {"serviceId": salon.staffed.service_id, "classSessionId": "bm90IGFuIGlk"}}),
        (JOIN_SESSION, {"input": {"serviceId": gid("ClassSession", salon.staffed.service.id)}}),
        (JOIN_SESSION, {"input": {"serviceId": salon.staffed.service_id, "customer": {"email": "x" * 5000}}}),
        (CLAIM, {"input": {}}),
        (CLAIM, {"input": {"token": "wlo_\x00" + "A" * 10000}}),
        (CLAIM, {"input": {"token": "wlo_AAAA.BBBB", "id": gid("WaitlistOffer", salon.staffed.service.id)}}),
        (DECLINE, {"input": {"id": gid("Booking", salon.staffed.service.id)}}),
        (LEAVE, {"input": {"id": gid("WaitlistEntry", salon.staffed.service.id)}}),
        (BY_LINK, {"token": "\ud800" * 3}),
        (ENTRIES, {"service": "%%%"}),
        (UPDATE_SETTINGS, {"input": {"offerMinutes": -2**31}}),
    ]
    for token in (None, customer.token, salon.owner.token):
        for document, variables in documents:
            result = await gql(document, variables, token=token, tenant="salon")
            assert result.response.status_code < 500, result.body
            assert "INTERNAL" not in result.error_codes and None not in result.error_codes, (document, variables, result.body)
    assert await entries(world) == []
