import { expect, it } from "vitest";
import { consume, jobFor, storedEvent } from "../helpers/forward";
import { deliveriesOf } from "../helpers/storage";

it("records what lands in the dead-letter queue as dead, and acks it", async () => {
	const event = await storedEvent();
	const { result } = await consume([{ body: jobFor(event), attempts: 11 }], {}, "bandwidth-relay-forward-dlq");
	expect(result.ackAll).toBe(true);
	expect((await deliveriesOf(event.id)).at(-1)).toMatchObject({
		outcome: "dead",
		attempt: 11,
		error: expect.stringMatching(/^dead-letter queue: /),
	});
});
