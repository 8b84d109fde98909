/*
 * `npm run deploy`: the whole deploy, first or later, in one command (scripts/lib/deploy-steps.ts
 * says what creates what). Safe to run again: it creates only what is missing and applies only new
 * migrations. It never sets secrets; it lists the missing ones as `wrangler secret put` lines.
 *
 * Needs `npx wrangler login` first (or CLOUDFLARE_API_TOKEN), and the Workers Paid plan (Queues).
 */

import { runWranglerForDeploy } from "./lib/deploy-runner.ts";
import { DeployStepError, deployRelay, summary } from "./lib/deploy-steps.ts";

try {
	const report = await deployRelay(runWranglerForDeploy, (line) => console.log(line));
	console.log(summary(report));
} catch (error) {
	console.error(`\n${error instanceof DeployStepError ? error.message : String(error)}`);
	process.exitCode = 1;
}
