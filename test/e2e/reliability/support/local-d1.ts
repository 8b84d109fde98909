import { runWrangler } from "../../../../scripts/lib/wrangler.ts";

/*
 * SQL against a running relay's local D1, from a second process, as an operator would run it. The
 * relay's workerd and this command open the same SQLite file under the relay's persist directory,
 * so a schema change here is what the running relay sees on its next query.
 */

const ATTEMPTS = 3;
/** The relay may be writing (a delivery row) at that very moment; SQLite then refuses for a moment. */
const LOCKED = /SQLITE_BUSY|database is locked/i;

function runOnce(persistTo: string, sql: string): Promise<{ code: number | null; output: string }> {
	return runWrangler(["d1", "execute", "DB", "--local", "--persist-to", persistTo, "--command", sql]);
}

export async function executeLocalD1(persistTo: string, sql: string): Promise<string> {
	for (let attempt = 1; ; attempt++) {
		const { code, output } = await runOnce(persistTo, sql);
		if (code === 0) return output;
		if (attempt >= ATTEMPTS || !LOCKED.test(output)) {
			throw new Error(`wrangler d1 execute "${sql}" exited with ${code}:\n${output}`);
		}
		await new Promise((resolve) => setTimeout(resolve, 250));
	}
}
