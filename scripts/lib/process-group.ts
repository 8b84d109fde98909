import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";

/*
 * Child processes that own a process group. `wrangler dev` starts esbuild and two workerd
 * processes under it; signalling only the wrangler pid can leave workerd holding the port, so
 * every stop signals the whole group and waits until nothing in it is left. POSIX only.
 */

export interface Exit {
	code: number | null;
	signal: NodeJS.Signals | null;
}

export interface GroupProcess {
	/** The group leader's pid, which is also the process group id. */
	pid: number;
	child: ChildProcess;
	exited: Promise<Exit>;
	/** Each line of stdout and stderr, as it arrives. */
	onLine(listener: (line: string, stream: "stdout" | "stderr") => void): void;
}

export interface SpawnGroupOptions {
	cwd: string;
	env: NodeJS.ProcessEnv;
}

export function spawnGroup(command: string, args: readonly string[], options: SpawnGroupOptions): GroupProcess {
	// detached = its own process group: a terminal's Ctrl-C reaches only the parent, which stops
	// the children in order instead of racing them.
	const child = spawn(command, args, {
		cwd: options.cwd,
		env: options.env,
		detached: true,
		stdio: ["ignore", "pipe", "pipe"],
	});
	if (child.pid === undefined) throw new Error(`could not start ${command}`);
	const listeners: ((line: string, stream: "stdout" | "stderr") => void)[] = [];
	const forward = (stream: Readable, name: "stdout" | "stderr") => {
		createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY }).on("line", (line) => {
			for (const listener of listeners) listener(line, name);
		});
	};
	forward(child.stdout as Readable, "stdout");
	forward(child.stderr as Readable, "stderr");
	const exited = new Promise<Exit>((resolve) => {
		child.once("exit", (code, signal) => resolve({ code, signal }));
		child.once("error", () => resolve({ code: null, signal: null }));
	});
	return { pid: child.pid, child, exited, onLine: (listener) => listeners.push(listener) };
}

/** True while the process exists and is not a zombie waiting to be reaped. */
export function isRunning(pid: number): boolean {
	try {
		process.kill(pid, 0);
	} catch {
		return false;
	}
	try {
		const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
		return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
	} catch {
		// No procfs (macOS): kill(0) succeeding is all we can know.
		return true;
	}
}

function groupExists(pgid: number): boolean {
	try {
		process.kill(-pgid, 0);
		return true;
	} catch {
		return false;
	}
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
	try {
		process.kill(-pgid, signal);
	} catch {
		// Already gone.
	}
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<boolean> {
	const deadline = Date.now() + timeoutMs;
	while (!condition()) {
		if (Date.now() >= deadline) return false;
		await sleep(50);
	}
	return true;
}

/**
 * SIGTERM to the group, SIGKILL after `graceMs`, then waits until the leader has exited and the
 * group is empty (bounded, so a stuck zombie cannot hang the caller).
 */
export async function stopGroup(group: GroupProcess, graceMs = 5000): Promise<Exit> {
	let leaderDone = false;
	void group.exited.then(() => {
		leaderDone = true;
	});
	signalGroup(group.pid, "SIGTERM");
	const stopped = await waitUntil(() => leaderDone && !groupExists(group.pid), graceMs);
	if (!stopped) {
		signalGroup(group.pid, "SIGKILL");
		await waitUntil(() => leaderDone && !groupExists(group.pid), graceMs);
	}
	return group.exited;
}
