import { mkdirSync, writeFileSync } from "node:fs";
import { readBenchConfig } from "./config.ts";
import { startSink } from "./sink.ts";
import { runSteadyState } from "./steady-state.ts";
import { steadyStateMarkdown } from "./steady-state-report.ts";
import { checkAllInTargets } from "./summarize.ts";

/*
 * `npm run bench:steady`: the all-in steady-state scenario alone (`npm run bench` runs it too),
 * printed and written to bench/out/steady-state.json; BENCHMARKS.md is left alone.
 */

const config = readBenchConfig();
const sink = await startSink(config.sinkPort);
try {
	const result = await runSteadyState(config, sink);
	mkdirSync(new URL("./out/", import.meta.url), { recursive: true });
	writeFileSync(new URL("./out/steady-state.json", import.meta.url), `${JSON.stringify(result, null, "\t")}\n`);
	console.log(steadyStateMarkdown(result).join("\n"));
	for (const target of checkAllInTargets(result))
		console.log(`${target.pass ? "pass" : "FAIL"}: ${target.target}: ${target.measured}`);
} finally {
	await sink.close();
}
