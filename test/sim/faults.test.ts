import { inject, it } from "vitest";
import { formatReport } from "./harness/report";
import { runSeed } from "./harness/run-seed";

/*
 * The whole relay under faults, one test per seed (README "Fault simulation"). `npm test` runs a
 * handful; `npm run simulate:faults -- --seeds N` runs many and tables them.
 */

const sinkBase = `http://127.0.0.1:${inject("simSinkPort")}`;

for (const seed of inject("simSeeds")) {
	it(`seed ${seed}: every promise holds under faults`, { timeout: 240_000 }, async () => {
		const report = await runSeed(seed, {
			sinkBase,
			forwardTimeoutMs: 1000,
			budgetBytes: 1_000_000,
			debug: inject("simDebug"),
		});
		// One machine-readable line per seed, for scripts/simulate-faults.ts.
		console.log(
			`SIM_RESULT ${JSON.stringify({ seed, ok: report.ok, realMs: report.realMs, stats: report.stats, results: report.results.map((result) => ({ name: result.name, checked: result.checked, violations: result.violations.length, notes: result.notes })) })}`,
		);
		if (!report.ok) {
			// Printed as it happens too, so a long run's failures are on screen before it ends.
			const text = formatReport(report);
			console.log(
				text
					.split("\n")
					.map((line) => `[sim ${seed}] ${line}`)
					.join("\n"),
			);
			throw new Error(text);
		}
	});
}
