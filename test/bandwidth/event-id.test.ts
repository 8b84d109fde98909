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

	it("counts a missing to and time as empty strings", async () => {
		const id = await eventIdOf({ type: "message-received", messageId: "abc", to: undefined, time: undefined });
		expect(id).toBe("evt_gqkszxtuspeoap2l6yrrulrv4g");
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
