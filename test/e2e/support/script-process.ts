import { PROJECT_ROOT } from "../../../scripts/lib/dev-vars.ts";
import { type Exit, type GroupProcess, spawnGroup, stopGroup } from "../../../scripts/lib/process-group.ts";

/*
 * One of the project's Node scripts (scripts/*.ts) as a child in its own process group, the way a
 * terminal runs it: signals go to the group, output is collected line by line (stdout and stderr).
 */

export interface ScriptProcess {
	pid: number;
	lines: string[];
	/** Once the process has exited and its output is read to the end. */
	exited: Promise<Exit>;
	/** Resolves with the first line (already printed or still to come) matching `pattern`. */
	waitForLine(pattern: RegExp, timeoutMs: number): Promise<string>;
	/** Sends `signal` to the whole group, as Ctrl-C in a terminal does. */
	signal(signal: NodeJS.Signals): void;
	/** Stops the group if it is still running (for afterAll/finally). */
	stop(): Promise<void>;
}

export function runScript(script: string, args: readonly string[], env: NodeJS.ProcessEnv): ScriptProcess {
	const group: GroupProcess = spawnGroup(process.execPath, [script, ...args], {
		cwd: PROJECT_ROOT,
		env: { ...process.env, WRANGLER_SEND_METRICS: "false", ...env },
	});
	const lines: string[] = [];
	const waiters = new Set<() => void>();
	group.onLine((line) => {
		lines.push(line);
		for (const wake of waiters) wake();
	});
	let done = false;
	// "close", not "exit": the last lines can still be in the pipe when the process has exited.
	const closed = new Promise<Exit>((resolve) => {
		group.child.once("close", (code: number | null, signal: NodeJS.Signals | null) => {
			done = true;
			for (const wake of waiters) wake();
			resolve({ code, signal });
		});
	});
	return {
		pid: group.pid,
		lines,
		exited: closed,
		waitForLine(pattern, timeoutMs) {
			return new Promise((resolve, reject) => {
				const check = () => {
					const found = lines.find((line) => pattern.test(line));
					if (found === undefined && !done) return;
					clearTimeout(timer);
					waiters.delete(check);
					if (found !== undefined) resolve(found);
					else reject(new Error(`${script} exited before printing ${pattern}:\n${lines.join("\n")}`));
				};
				const timer = setTimeout(() => {
					waiters.delete(check);
					reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms:\n${lines.join("\n")}`));
				}, timeoutMs);
				waiters.add(check);
				check();
			});
		},
		signal(signal) {
			try {
				process.kill(-group.pid, signal);
			} catch {
				// Already gone.
			}
		},
		async stop() {
			await stopGroup(group);
		},
	};
}
