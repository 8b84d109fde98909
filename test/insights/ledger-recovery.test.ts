import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { type InsightsVisit, LedgerInsights } from "../../src/insights/ledger-insights";
import { type InsightMarks, readInsightMarks } from "../../src/insights/record-insights";
import { mergeTally, type Tally } from "../../src/insights/tally";
import { ledgerFor } from "../../src/ledger/ledger-client";
import type { MessageLedger } from "../../src/ledger/message-ledger.do";
import { DayTables } from "../../src/ledger/store/day-tables";
import { LedgerSql } from "../../src/ledger/store/ledger-sql";
import { runMaintenance } from "../../src/maintenance/run-maintenance";
import { messageIdAt, type PlannedMessage, postMessages, statusElement } from "./support/traffic";

/*
 * A ledger instance that starts afresh (after an eviction or a deploy) has lost the counts it held
 * in memory: it recovers them from its rows, those accepted after its mark and no others. Here a
 * second LedgerInsights over the same storage plays the new instance.
 */

function message(applicationId: string) {
	const time = Date.now() - 5 * 60_000;
	const shape = {
		id: messageIdAt(time),
		applicationId,
		from: "+19195550123",
		to: ["+16465550002"],
		time,
		media: false,
	};
	const post = (type: "message-sending" | "message-delivered", at: number) =>
		postMessages([
			{
				id: shape.id,
				callbacks: [{ element: statusElement(shape, type, "+16465550002", at), repeat: false, concurrent: false }],
			} satisfies PlannedMessage,
		]);
	return {
		shape,
		sending: () => post("message-sending", time + 500),
		delivered: () => post("message-delivered", time + 2500),
	};
}

/** The visit the cron would make with these marks. */
const visitWith = (marks: InsightMarks | null, ledger: string): InsightsVisit => ({
	committed: marks?.marks[ledger] ?? null,
	version: marks?.version ?? 0,
});

/** A new instance's visits, over the ledger's storage; answers each visit's counts of this application. */
function freshInstanceVisits(messageId: string, applicationId: string, marks: Array<InsightMarks | null>) {
	return runInDurableObject(ledgerFor(env, messageId), async (_instance: MessageLedger, state) => {
		const db = new LedgerSql(state.storage);
		const fresh = new LedgerInsights(db, new DayTables(db));
		const visits = marks.map((read) => visitWith(read, state.id.name ?? ""));
		const counts = [];
		for (const visit of visits) {
			const tally: Tally = {};
			for (const snapshot of (await fresh.visit(visit)) ?? []) mergeTally(tally, snapshot.tally);
			const ours = Object.values(tally).filter((key) => key.applicationId === applicationId);
			counts.push({
				committed: visit.committed,
				sent: ours.reduce((n, k) => n + k.sent, 0),
				delivered: ours.reduce((n, k) => n + k.delivered, 0),
			});
		}
		return counts;
	});
}

describe("a new ledger instance", () => {
	it("recovers the counts of rows accepted after its mark, and none before", async () => {
		const applicationId = crypto.randomUUID();
		const { shape, sending, delivered } = message(applicationId);
		await sending();
		await runMaintenance(env, Date.now());
		await delivered();
		const marks = await readInsightMarks(env.DB);
		const [recovered] = await freshInstanceVisits(shape.id, applicationId, [marks]);
		// The send was counted before the mark; the delivery after it is what was in memory.
		expect(recovered?.committed).not.toBeNull();
		expect(recovered).toMatchObject({ sent: 0, delivered: 1 });
	});

	it("takes out what a predecessor's count wrote after the new instance had scanned", async () => {
		const applicationId = crypto.randomUUID();
		const { shape, sending, delivered } = message(applicationId);
		const before = await readInsightMarks(env.DB);
		await sending();
		// A count of the send, run by the predecessor, lands after the new instance's first visit.
		await runMaintenance(env, Date.now());
		await delivered();
		const after = await readInsightMarks(env.DB);
		const [scanned, recut] = await freshInstanceVisits(shape.id, applicationId, [before, after]);
		expect(scanned).toMatchObject({ sent: 1, delivered: 1 });
		expect(recut).toMatchObject({ sent: 0, delivered: 1 });
	});
});
