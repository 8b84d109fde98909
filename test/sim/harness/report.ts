import type { SeedReport } from "./run-seed";

/** A failing seed, readable: each broken invariant with its first cases, then the relay's last lines. */
export function formatReport(report: SeedReport): string {
	const lines = [`seed ${report.seed} broke a promise (replay it: npm run simulate:faults -- --seed ${report.seed})`];
	for (const result of report.results) {
		const verdict = result.violations.length === 0 ? "ok" : `${result.violations.length} broken`;
		lines.push(`  ${result.name}: ${verdict} of ${result.checked}`);
		for (const violation of result.violations) lines.push(`    - ${violation}`);
	}
	lines.push(`  stats: ${JSON.stringify(report.stats)}`);
	if (report.logTail.length > 0)
		lines.push("  the relay's last log lines:", ...report.logTail.map((line) => `    ${line}`));
	return lines.join("\n");
}
