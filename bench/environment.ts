import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { cpus } from "node:os";

/** The machine and tool versions a result belongs to, from /proc and the installed packages. */

export interface Environment {
	date: string;
	cpuModel: string;
	cores: number;
	memoryGiB: number;
	node: string;
	wrangler: string;
	workerd: string;
	/** Filesystem type under the wrangler state (the ledgers' SQLite files). */
	stateFilesystem: string;
}

function procField(file: string, pattern: RegExp): string | null {
	return pattern.exec(readFileSync(file, "utf8"))?.[1]?.trim() ?? null;
}

/** The runtime actually running, asked by its own binary. */
function workerdVersion(runtimePid: number): string {
	const binary = readFileSync(`/proc/${runtimePid}/cmdline`, "utf8").split("\0")[0]!;
	return execFileSync(binary, ["--version"], { encoding: "utf8" }).trim();
}

/** The mount with the longest prefix of `path`, from /proc/mounts. */
function filesystemOf(path: string): string {
	let best = { mount: "", type: "unknown" };
	for (const line of readFileSync("/proc/mounts", "utf8").trim().split("\n")) {
		const [, mount, type] = line.split(" ");
		if (mount === undefined || type === undefined) continue;
		const inside = path === mount || path.startsWith(mount.endsWith("/") ? mount : `${mount}/`);
		if (inside && mount.length > best.mount.length) best = { mount, type };
	}
	return `${best.type} (${best.mount})`;
}

export function describeEnvironment(runtimePid: number, statePath: string): Environment {
	const require = createRequire(import.meta.url);
	const wrangler = (require("wrangler/package.json") as { version: string }).version;
	const memoryKb = Number(procField("/proc/meminfo", /^MemTotal:\s+(\d+) kB$/m) ?? 0);
	return {
		date: new Date().toISOString(),
		cpuModel: procField("/proc/cpuinfo", /^model name\s*:\s*(.+)$/m) ?? "unknown",
		cores: cpus().length,
		memoryGiB: Math.round((memoryKb / 1024 / 1024) * 10) / 10,
		node: process.version,
		wrangler,
		workerd: workerdVersion(runtimePid),
		stateFilesystem: filesystemOf(statePath),
	};
}
