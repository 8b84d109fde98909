import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { PROJECT_ROOT } from "./dev-vars.ts";

/*
 * Running wrangler from Node scripts: always the project's own wrangler on the current Node (22,
 * when started through npm), never a global one, and never with telemetry.
 */

export const WRANGLER_JS = resolve(PROJECT_ROOT, "node_modules/wrangler/bin/wrangler.js");

export function wranglerEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
	return { ...process.env, WRANGLER_SEND_METRICS: "false", ...extra };
}

export interface DevArgs {
	port: number;
	inspectorPort: number;
	ip: string;
	/** Omitted: wrangler's default, .wrangler/state. */
	persistTo?: string;
	/** Read instead of .dev.vars (wrangler skips .dev.vars when any env file is given). */
	envFile?: string;
	vars?: Record<string, string>;
	/** Serve GET /__scheduled, which runs the cron's handler: `wrangler dev` runs no cron by itself. */
	testScheduled?: boolean;
}

export function devArgs(options: DevArgs): string[] {
	const args = [
		WRANGLER_JS,
		"dev",
		"--local",
		"--ip",
		options.ip,
		"--port",
		String(options.port),
		"--inspector-port",
		String(options.inspectorPort),
		"--show-interactive-dev-session=false",
	];
	if (options.persistTo !== undefined) args.push("--persist-to", options.persistTo);
	if (options.envFile !== undefined) args.push("--env-file", options.envFile);
	if (options.testScheduled) args.push("--test-scheduled");
	for (const [name, value] of Object.entries(options.vars ?? {})) args.push("--var", `${name}:${value}`);
	return args;
}

/** Runs a wrangler command to completion; CI=true keeps it from prompting for confirmation. */
export function runWrangler(args: readonly string[]): Promise<{ code: number | null; output: string }> {
	return new Promise((resolvePromise, reject) => {
		const child = spawn(process.execPath, [WRANGLER_JS, ...args], {
			cwd: PROJECT_ROOT,
			env: wranglerEnv({ CI: "true" }),
			stdio: ["ignore", "pipe", "pipe"],
		});
		let output = "";
		child.stdout.on("data", (chunk) => {
			output += chunk;
		});
		child.stderr.on("data", (chunk) => {
			output += chunk;
		});
		child.once("error", reject);
		child.once("exit", (code) => resolvePromise({ code, output }));
	});
}

/** Applies migrations/ to the local D1 in `persistTo` (wrangler's default state when omitted). */
export async function applyMigrations(persistTo?: string): Promise<string> {
	const args = ["d1", "migrations", "apply", "DB", "--local"];
	if (persistTo !== undefined) args.push("--persist-to", persistTo);
	const { code, output } = await runWrangler(args);
	if (code !== 0) throw new Error(`wrangler d1 migrations apply exited with ${code}:\n${output}`);
	return output;
}

export async function waitForHttp(url: string, timeoutMs: number, exited?: Promise<unknown>): Promise<void> {
	let gone = false;
	void exited?.then(() => {
		gone = true;
	});
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		if (gone) throw new Error(`the process serving ${url} exited before it answered`);
		try {
			const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
			await response.body?.cancel();
			return;
		} catch {
			if (Date.now() >= deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms`);
			await new Promise((done) => setTimeout(done, 100));
		}
	}
}

/**
 * Without internet wrangler reports, twice per start, that it could not fetch `request.cf` from
 * workers.cloudflare.com, with a stack trace. Harmless; this drops exactly those lines.
 */
export function cfLookupNoiseFilter(): (line: string) => boolean {
	let inTrace = false;
	return (line) => {
		if (line.includes("Unable to fetch the `Request.cf` object")) return false;
		if (line.includes("ENOTFOUND workers.cloudflare.com")) {
			inTrace = true;
			return false;
		}
		if (inTrace && /^\s+at /.test(line)) return false;
		inTrace = false;
		return true;
	};
}
