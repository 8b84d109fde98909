import { spawn } from "node:child_process";
import type { CommandResult, WranglerRunner } from "./deploy-steps.ts";
import { PROJECT_ROOT } from "./dev-vars.ts";
import { WRANGLER_JS, wranglerEnv } from "./wrangler.ts";

/**
 * The real runner for scripts/deploy.ts: the project's wrangler on this Node, output collected
 * (and shown as it comes when `stream`). CI=true keeps wrangler from prompting: the deploy then
 * provisions D1 and R2 under their configured names instead of asking, and leaves wrangler.toml
 * untouched (a provisioned resource stays linked without its id written back).
 */
export const runWranglerForDeploy: WranglerRunner = (args, options = {}) =>
	new Promise<CommandResult>((resolvePromise, reject) => {
		const child = spawn(process.execPath, [WRANGLER_JS, ...args], {
			cwd: PROJECT_ROOT,
			env: wranglerEnv({ CI: "true" }),
			stdio: ["ignore", "pipe", "pipe"],
		});
		let output = "";
		const collect = (target: NodeJS.WriteStream) => (chunk: Buffer) => {
			output += chunk;
			if (options.stream) target.write(chunk);
		};
		child.stdout.on("data", collect(process.stdout));
		child.stderr.on("data", collect(process.stderr));
		child.once("error", reject);
		child.once("exit", (code) => resolvePromise({ code, output }));
	});
