import { listDurableObjectIds, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect, it, vi } from "vitest";
import { createEventTable, eventTableOf } from "../../src/db/event-tables";
import { adminFetch, adminPost } from "../helpers/admin";
import { aroundMethod, gate } from "../helpers/binding-faults";
import { postCallback } from "../helpers/callback";
import { element } from "../helpers/fixtures";
import { ledgerStub, pendingInLedger } from "../helpers/ledger";
import { deliveriesOf, eventsOf, quarantineRows } from "../helpers/storage";
import { freshNumber, refusingInserts } from "./support";

/*
 * Erasure while copies are in flight (findings of the fault simulation, issue 17): what a ledger
 * holds for D1, and what a ledger's drain is writing to D1 as the erasure runs, must not survive it.
 */

/** The quarantined elements every ledger holds for D1, as their JSON text. */
async function heldQuarantine(): Promise<string[]> {
	const held: string[] = [];
	for (const id of await listDurableObjectIds(env.MESSAGE_LEDGER)) {
		const rows = await runInDurableObject(env.MESSAGE_LEDGER.get(id), (_instance, state) => {
			const sql = state.storage.sql;
			if (sql.exec("SELECT 1 FROM sqlite_master WHERE name = 'quarantine_outbox'").toArray().length === 0) return [];
			return sql
				.exec<{ row: string }>("SELECT row FROM quarantine_outbox")
				.toArray()
				.map((row) => row.row);
		});
		held.push(...rows);
	}
	return held;
}

/**
 * A D1 write held by a gate, and whether it has landed (or failed). The test learns it by polling,
 * not by awaiting the write's promise: that promise belongs to the request context that made the
 * write (a ledger's alarm, the Worker's fetch), and the test must go on in its own.
 */
function heldWrite(): {
	hold(held: ReturnType<typeof gate>, call: () => unknown): Promise<unknown>;
	landed(): Promise<void>;
} {
	let done = false;
	return {
		hold: (held, call) =>
			held
				.wait()
				.then(call)
				.finally(() => {
					done = true;
				}),
		landed: () => vi.waitUntil(() => done, { timeout: 10_000, interval: 10 }).then(() => undefined),
	};
}

function invalidElement(fields: { from?: string } = {}) {
	const invalid = element("spec2026__message-delivered_sms.object.json", {
		message: fields.from === undefined ? {} : { from: fields.from },
	});
	invalid.time = "not a time";
	return invalid;
}

it("erasing a message removes its quarantined elements a ledger holds while D1 refuses them", async () => {
	const invalid = invalidElement();
	await refusingInserts("quarantine", async () => {
		expect(await (await postCallback([invalid])).json()).toMatchObject({ quarantined: 1 });
		expect((await heldQuarantine()).some((row) => row.includes(invalid.message.id))).toBe(true);
		const response = await adminFetch(`/v1/messages/${invalid.message.id}`, { method: "DELETE" });
		expect(response.status).toBe(200);
		expect(await response.json()).toMatchObject({ quarantine: 1, complete: true });
	});
	expect((await heldQuarantine()).some((row) => row.includes(invalid.message.id))).toBe(false);
	expect((await quarantineRows()).some((row) => row.raw_json.includes(invalid.message.id))).toBe(false);
});

it("erasing a phone number removes the quarantined elements mentioning it that a ledger holds", async () => {
	const number = freshNumber();
	const invalid = invalidElement({ from: number });
	await refusingInserts("quarantine", async () => {
		expect(await (await postCallback([invalid])).json()).toMatchObject({ quarantined: 1 });
		const response = await adminPost("/v1/erase", { phoneNumber: number });
		expect(response.status).toBe(200);
		expect(await response.json()).toMatchObject({ quarantine: 1, complete: true });
	});
	expect((await heldQuarantine()).some((row) => row.includes(number))).toBe(false);
});

it("erasing a message while its ledger's drain is writing it to D1 leaves nothing in D1", async () => {
	const event = element("spec2026__message-delivered_sms.object.json");
	const messageId = event.message.id;
	// The Worker's own copy to D1 fails: the row waits in the ledger's outbox for the drain, whose
	// D1 write is then held in flight, as a slow database would hold it (whether the ledger's own
	// alarm or the one run here drains first).
	const table = eventTableOf(new Date().toISOString());
	await createEventTable(env.DB, table).run();
	const held = gate();
	const write = heldWrite();
	await refusingInserts(table, async () => {
		expect((await postCallback([event])).status).toBe(200);
		await vi.waitUntil(async () => (await pendingInLedger(messageId)).length === 1, { timeout: 10_000, interval: 20 });
		aroundMethod(env.DB, "batch", (call, args) => {
			const statements = args[0] as Array<{ statement?: string }>;
			if (!statements.some((statement) => String(statement.statement ?? "").includes("INSERT INTO events")))
				return call();
			return write.hold(held, call);
		});
	});
	void runDurableObjectAlarm(ledgerStub(messageId));
	await held.entered;
	const erasure = adminFetch(`/v1/messages/${messageId}`, { method: "DELETE" });
	// The write lands once the erasure has answered, or (an erasure that waits for it) after 1.5 s.
	void erasure.finally(() => held.release());
	setTimeout(() => held.release(), 1500);
	const answer = await erasure;
	expect(answer.status).toBe(200);
	expect(await answer.json()).toMatchObject({ complete: true });
	await write.landed();
	expect(await eventsOf(messageId)).toEqual([]);
});

it("erasing a number named only in a group message's to removes that message everywhere", async () => {
	const other = freshNumber();
	// An inbound group MMS to one of our numbers: the other members appear only in message.to.
	const group = element("spec2026__message-received_mms-group.object.json");
	group.message.to = [group.to, other];
	group.message.media = [];
	expect(await (await postCallback([group])).json()).toMatchObject({ stored: 1 });
	await vi.waitUntil(async () => (await eventsOf(group.message.id)).length === 1, { timeout: 10_000, interval: 20 });
	const response = await adminPost("/v1/erase", { phoneNumber: other });
	expect(response.status).toBe(200);
	expect(await response.json()).toMatchObject({ events: 1, complete: true });
	expect(await eventsOf(group.message.id)).toEqual([]);
	expect((await pendingInLedger(group.message.id)).length).toBe(0);
});

it("erasing a message while the Worker's own D1 write of it is in flight leaves nothing in D1", async () => {
	const event = element("spec2026__message-delivered_sms.object.json");
	const messageId = event.message.id;
	// The Worker's write after the 200 is held, as a slow database would hold it.
	const held = gate();
	const write = heldWrite();
	aroundMethod(env.DB, "batch", (call, args) => {
		// This message's write only: a ledger's drain still running from an earlier test writes other
		// messages, and held, it would keep the erasure (which waits for that drain) from answering.
		const statements = args[0] as Array<{ statement?: string; params?: unknown[] }>;
		const ours = statements.some(
			(statement) =>
				String(statement.statement ?? "").includes("INSERT INTO events") &&
				JSON.stringify(statement.params ?? []).includes(messageId),
		);
		if (!ours) return call();
		return write.hold(held, call);
	});
	expect((await postCallback([event])).status).toBe(200);
	await held.entered;
	const answer = await adminFetch(`/v1/messages/${messageId}`, { method: "DELETE" });
	expect(answer.status).toBe(200);
	// The write lands after the erasure answered.
	held.release();
	await write.landed();
	expect(await eventsOf(messageId)).toEqual([]);
});

it("erasing a message while a replay of it is between its read and its claim leaves no replayed row", async () => {
	const event = element("spec2026__message-delivered_sms.object.json");
	const messageId = event.message.id;
	expect((await postCallback([event])).status).toBe(200);
	await vi.waitUntil(async () => (await eventsOf(messageId)).length === 1, { timeout: 10_000, interval: 20 });
	const [stored] = await eventsOf(messageId);
	// The replay has read the message's events; its claim waits, as a slow database would hold it.
	const held = gate();
	aroundMethod(env.DB, "prepare", (call, args) => {
		const statement = call() as D1PreparedStatement;
		// The claim of a replay by id, message or time (src/db/replay-claims.repository.ts) and nothing else:
		// an erasure statement held here would wait for the release this test gives after it.
		const sql = String(args[0]);
		if (!sql.startsWith("INSERT INTO deliveries") || !sql.includes("FROM json_each(?1)")) return statement;
		return {
			bind: (...params: unknown[]) => {
				const bound = statement.bind(...params);
				return {
					all: async () => {
						await held.wait();
						return bound.all();
					},
				};
			},
		};
	});
	const replay = adminPost("/v1/replay", { messageId });
	await held.entered;
	expect((await adminFetch(`/v1/messages/${messageId}`, { method: "DELETE" })).status).toBe(200);
	held.release();
	// The answer's body was made where the gate let the handler go on: its status is what can be read.
	expect((await replay).status).toBe(200);
	expect(await deliveriesOf(stored!.id)).toEqual([]);
});
