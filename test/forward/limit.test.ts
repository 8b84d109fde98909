import { describe, expect, it } from "vitest";
import { Limit, type Permit } from "../../src/forward/limit";

/** Lets every promise that can settle now do so. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

/** Asks for `weight` and records, in `admitted`, when the permit comes. */
function request(limit: Limit, name: string, weight: number, admitted: string[]): Promise<Permit> {
	return limit.acquire(weight).then((permit) => {
		admitted.push(name);
		return permit;
	});
}

describe("Limit", () => {
	it("lets holders in up to its capacity, then each waiter in order as room is freed", async () => {
		const limit = new Limit(3);
		const admitted: string[] = [];
		const [a, b, c] = await Promise.all(["a", "b", "c"].map((name) => request(limit, name, 1, admitted)));
		const d = request(limit, "d", 1, admitted);
		const e = request(limit, "e", 1, admitted);
		await settle();
		expect(admitted).toEqual(["a", "b", "c"]);
		b!.release();
		await settle();
		expect(admitted).toEqual(["a", "b", "c", "d"]);
		a!.release();
		c!.release();
		await Promise.all([d, e]);
		expect(admitted).toEqual(["a", "b", "c", "d", "e"]);
		expect(limit.used).toBe(2);
	});

	it("keeps a large waiter's place: smaller ones behind it wait their turn", async () => {
		const limit = new Limit(10);
		const admitted: string[] = [];
		const first = await request(limit, "first", 6, admitted);
		const large = request(limit, "large", 8, admitted);
		const small = request(limit, "small", 1, admitted);
		await settle();
		expect(admitted).toEqual(["first"]);
		first.release();
		await Promise.all([large, small]);
		expect(admitted).toEqual(["first", "large", "small"]);
	});

	it("lets one larger than its capacity in alone, once nothing else is held", async () => {
		const limit = new Limit(10);
		const admitted: string[] = [];
		const small = await request(limit, "small", 2, admitted);
		const huge = request(limit, "huge", 25, admitted);
		const after = request(limit, "after", 1, admitted);
		await settle();
		expect(admitted).toEqual(["small"]);
		small.release();
		const held = await huge;
		await settle();
		expect(admitted).toEqual(["small", "huge"]);
		expect(limit.used).toBe(25);
		held.release();
		await after;
		expect(limit.used).toBe(1);
	});

	it("gives the room back when a held estimate shrinks to the real weight", async () => {
		const limit = new Limit(10);
		const admitted: string[] = [];
		const estimate = await request(limit, "estimate", 9, admitted);
		const next = request(limit, "next", 4, admitted);
		await settle();
		expect(admitted).toEqual(["estimate"]);
		estimate.resize(5);
		await next;
		expect(limit.used).toBe(9);
		// Growing never waits; it only keeps the waiters out longer.
		estimate.resize(7);
		expect(limit.used).toBe(11);
	});

	it("releases once, however often it is told to, and ignores a resize after it", async () => {
		const limit = new Limit(4);
		const permit = await limit.acquire(3);
		permit.release();
		permit.release();
		permit.resize(4);
		expect(limit.used).toBe(0);
	});

	it("releases what run() held when the work throws", async () => {
		const limit = new Limit(1);
		await expect(limit.run(1, async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
		expect(limit.used).toBe(0);
		expect(await limit.run(1, async (permit) => permit.weight)).toBe(1);
	});
});
