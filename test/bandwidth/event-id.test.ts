import { describe, expect, it } from "vitest";
import { eventIdOf, quarantineIdOf } from "../../src/bandwidth/event-id";

describe("eventIdOf", () => {
	// Expected values computed independently (Python hashlib + base64.b32encode).
	it("is evt_ + 26 base32 characters of SHA-256 over type, message id, to and time", async () => {
		const id = await eventIdOf({
			type: "message-delivered",
			messageId: "14762070468292kw2fuqty55yp2b2",
			to: "+12345678902",
			time: "2024-09-14T18:20:11.160744Z",
		});
		expect(id).toBe("evt_xcyrzw6fbvacayqyw3ukpwckmo");
	});

	it("hashes in the element, canonicalized, when to or time is missing", async () => {
		// SHA-256 of "brand-new\nabc\n\n\n" + the element with sorted keys, no spaces.
		const element = { type: "brand-new", message: { to: ["+15550000001"], id: "abc" } };
		const id = await eventIdOf({ type: "brand-new", messageId: "abc", to: undefined, time: undefined, element });
		expect(id).toBe("evt_gtf5nscq4aqgw3bc63gy3ad6ld");
	});

	it("keeps distinct elements of an unknown type without to or time distinct", async () => {
		const ids = await Promise.all(
			["first", "second"].map((text) =>
				eventIdOf({
					type: "brand-new",
					messageId: "m1",
					to: "+15550000001",
					time: undefined,
					element: { type: "brand-new", to: "+15550000001", message: { id: "m1", text } },
				}),
			),
		);
		expect(ids[0]).not.toBe(ids[1]);
	});

	it("gives a repeat of such an element the same id, whatever the order of its keys", async () => {
		const parts = { type: "brand-new", messageId: "m1", to: undefined, time: "2024-01-01T00:00:00Z" };
		const a = await eventIdOf({ ...parts, element: { type: "brand-new", message: { id: "m1", text: "x" } } });
		const b = await eventIdOf({ ...parts, element: { message: { text: "x", id: "m1" }, type: "brand-new" } });
		expect(a).toBe(b);
	});

	it("leaves the id of an event with both to and time as it was, whatever else it holds", async () => {
		const parts = {
			type: "message-delivered",
			messageId: "14762070468292kw2fuqty55yp2b2",
			to: "+12345678902",
			time: "2024-09-14T18:20:11.160744Z",
		};
		expect(await eventIdOf({ ...parts, element: { anything: 1 } })).toBe("evt_xcyrzw6fbvacayqyw3ukpwckmo");
	});

	it("tells apart the recipients of one group message", async () => {
		const base = { type: "message-delivered", messageId: "m1", time: "2024-01-01T00:00:00Z" };
		const a = await eventIdOf({ ...base, to: "+15550000001" });
		const b = await eventIdOf({ ...base, to: "+15550000002" });
		expect(a).not.toBe(b);
		expect(a).toMatch(/^evt_[a-z2-7]{26}$/);
	});

	it("gives quarantined elements a stable id of their own", async () => {
		expect(await quarantineIdOf('{"a":1}')).toBe(await quarantineIdOf('{"a":1}'));
		expect(await quarantineIdOf('{"a":1}')).toMatch(/^qtn_[a-z2-7]{26}$/);
	});
});
