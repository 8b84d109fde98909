import type { TestProject } from "vitest/node";
import { TEST_ENV } from "../../setup/test-env";
import { startSimSink } from "./sim-sink";

/**
 * The simulation's sink (destinations, alerts, and the stand-in media host), and the seeds to run:
 * SIM_SEEDS="1,2,3" or SIM_SEEDS="100-199" (npm run simulate:faults sets it), else a handful.
 */
/** Three seeds keep `npm test`'s share under a minute on two cores; `npm run simulate:faults` runs hundreds. */
export const DEFAULT_SEEDS = [1, 2, 3];

export function parseSeeds(text: string | undefined): number[] {
	if (text === undefined || text.trim() === "") return DEFAULT_SEEDS;
	return text.split(",").flatMap((part) => {
		const range = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(part);
		if (range) {
			const [from, to] = [Number(range[1]), Number(range[2])];
			return Array.from({ length: Math.max(0, to - from + 1) }, (_, index) => from + index);
		}
		return part.trim() === "" ? [] : [Number(part)];
	});
}

export default async function setup(project: TestProject) {
	const sink = await startSimSink({
		clientId: TEST_ENV.BANDWIDTH_CLIENT_ID,
		clientSecret: TEST_ENV.BANDWIDTH_CLIENT_SECRET,
	});
	project.provide("simSinkPort", sink.port);
	project.provide("simSeeds", parseSeeds(process.env.SIM_SEEDS));
	project.provide("simDebug", process.env.SIM_DEBUG === "1");
	return () => sink.close();
}
