import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { ROOT } from "./config.ts";
import { sleep } from "./stats.ts";

/*
 * wrangler as users run it, started from this process and stopped by process group. All bench
 * Workers run in ONE `wrangler dev` (multi-config), hence one workerd runtime. Only the first
 * config gets wrangler's HTTP port (through a second, proxy-only workerd), so the bench talks to
 * the runtime's own entry socket and picks the Worker with Miniflare's `MF-Route-Override`
 * header: every Worker then sees the same path (runtime entry → Worker), with no proxy hop.
 */

const WRANGLER_JS = join(
	createRequire(import.meta.url)
		.resolve("wrangler/package.json")
		.replace(/package\.json$/, ""),
	"bin/wrangler.js",
);

export const ROUTE_HEADER = "MF-Route-Override";

function wranglerEnv(logDir: string): NodeJS.ProcessEnv {
	return { ...process.env, WRANGLER_SEND_METRICS: "false", WRANGLER_LOG_PATH: logDir, NO_COLOR: "1", CI: "1" };
}

/** Runs one wrangler command to completion (migrations); throws with its output on failure. */
export async function runWrangler(args: readonly string[], logDir: string): Promise<void> {
	const child = spawn(process.execPath, [WRANGLER_JS, ...args], { cwd: ROOT, env: wranglerEnv(logDir) });
	let output = "";
	child.stdout.on("data", (chunk) => {
		output += chunk;
	});
	child.stderr.on("data", (chunk) => {
		output += chunk;
	});
	const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
	if (code !== 0) throw new Error(`wrangler ${args.join(" ")} exited with ${code}:\n${output}`);
}

export interface DevOptions {
	configs: readonly string[];
	port: number;
	inspectorPort: number;
	persistTo: string;
	/** Secrets and vars for the first config (the relay); replaces .dev.vars. */
	envFile: string;
	logFile: string;
	/** A Worker (by name) and its signature header value, used to find the runtime's entry socket. */
	probe: { worker: string; header: string; value: string };
}

export interface DevServer {
	/** The runtime's entry socket, e.g. http://127.0.0.1:41234. */
	entryUrl: string;
	/** Every workerd process of this dev server (the runtime and wrangler's proxy). */
	workerdPids: number[];
	runtimePid: number;
	wranglerPid: number;
	stop: () => Promise<void>;
}

function parentPids(): Map<number, number> {
	const parents = new Map<number, number>();
	for (const entry of readdirSync("/proc")) {
		if (!/^\d+$/.test(entry)) continue;
		try {
			const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
			parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
		} catch {
			// the process exited while we looked
		}
	}
	return parents;
}

function descendants(root: number): number[] {
	const parents = parentPids();
	const found: number[] = [];
	const queue = [root];
	for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
		for (const [child, parent] of parents) {
			if (parent === pid) {
				found.push(child);
				queue.push(child);
			}
		}
	}
	return found;
}

function executableOf(pid: number): string {
	try {
		return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0] ?? "";
	} catch {
		return "";
	}
}

/** TCP ports a process listens on: its socket inodes matched against /proc/net/tcp. */
function listeningPorts(pid: number): number[] {
	const inodes = new Set<string>();
	for (const fd of readdirSync(`/proc/${pid}/fd`)) {
		try {
			const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
			if (match) inodes.add(match[1]!);
		} catch {
			// closed meanwhile
		}
	}
	const ports: number[] = [];
	for (const line of readFileSync(`/proc/${pid}/net/tcp`, "utf8").trim().split("\n").slice(1)) {
		const columns = line.trim().split(/\s+/);
		const [, localAddress, , state, , , , , , inode] = columns;
		if (state === "0A" && inode !== undefined && inodes.has(inode)) {
			ports.push(Number.parseInt(localAddress!.split(":")[1]!, 16));
		}
	}
	return ports;
}

async function answersAsProbe(port: number, probe: DevOptions["probe"]): Promise<boolean> {
	try {
		const response = await fetch(`http://127.0.0.1:${port}/`, {
			method: "POST",
			headers: { [ROUTE_HEADER]: probe.worker },
			body: "{}",
			signal: AbortSignal.timeout(2000),
		});
		await response.arrayBuffer();
		return response.headers.get(probe.header) === probe.value;
	} catch {
		return false;
	}
}

async function stopGroup(child: ChildProcess): Promise<void> {
	if (child.pid === undefined || child.exitCode !== null) return;
	const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
	const signal = (name: NodeJS.Signals) => {
		try {
			process.kill(-child.pid!, name);
		} catch {
			// the group is gone
		}
	};
	signal("SIGTERM");
	await Promise.race([exited, sleep(5000)]);
	signal("SIGKILL");
}

/** Starts `wrangler dev` with several configs and waits until the runtime answers. */
export async function startDev(options: DevOptions, timeoutMs = 90_000): Promise<DevServer> {
	const log = openSync(options.logFile, "a");
	const args = [
		WRANGLER_JS,
		"dev",
		...options.configs.flatMap((config) => ["-c", config]),
		"--port",
		String(options.port),
		"--inspector-port",
		String(options.inspectorPort),
		"--ip",
		"127.0.0.1",
		"--persist-to",
		options.persistTo,
		"--env-file",
		options.envFile,
		"--show-interactive-dev-session=false",
	];
	const child = spawn(process.execPath, args, {
		cwd: ROOT,
		env: wranglerEnv(options.persistTo),
		stdio: ["ignore", log, log],
		detached: true,
	});
	closeSync(log);
	const stop = () => stopGroup(child);

	const deadline = Date.now() + timeoutMs;
	try {
		while (Date.now() < deadline) {
			if (child.exitCode !== null)
				throw new Error(`wrangler dev exited with ${child.exitCode}; see ${options.logFile}`);
			const workerdPids = descendants(child.pid!).filter((pid) => executableOf(pid).endsWith("/workerd"));
			for (const pid of workerdPids) {
				for (const port of listeningPorts(pid)) {
					if (port === options.port || port === options.inspectorPort) continue;
					if (await answersAsProbe(port, options.probe)) {
						return {
							entryUrl: `http://127.0.0.1:${port}`,
							workerdPids,
							runtimePid: pid,
							wranglerPid: child.pid!,
							stop,
						};
					}
				}
			}
			await sleep(500);
		}
		throw new Error(`wrangler dev did not become ready in ${timeoutMs / 1000} s; see ${options.logFile}`);
	} catch (error) {
		await stop();
		throw error;
	}
}
