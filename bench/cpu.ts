import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { sleep } from "./stats.ts";

/*
 * CPU and memory of the workerd processes, read from /proc: user + system time of every thread,
 * so the queue consumer, alarms and the D1/Queues simulators running in the same process count.
 */

const TICKS_PER_SECOND = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

/** utime + stime of one process in seconds; the fields after the parenthesised command name. */
function processCpuSeconds(pid: number): number {
	const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
	const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
	// fields[0] is field 3 (state); utime and stime are fields 14 and 15.
	return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

export function cpuSeconds(pids: readonly number[]): number {
	return pids.reduce((sum, pid) => sum + processCpuSeconds(pid), 0);
}

/** CPU seconds the whole machine spent busy (all cores), from /proc/stat. */
export function machineBusySeconds(): number {
	const [, ...fields] = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/);
	const [user, nice, system, , , irq, softirq] = fields.map(Number) as number[];
	return (user! + nice! + system! + irq! + softirq!) / TICKS_PER_SECOND;
}

/** CPU seconds of this Node process, all threads (load generator and sink). */
export function ownCpuSeconds(): number {
	const usage = process.cpuUsage();
	return (usage.user + usage.system) / 1e6;
}

export function rssBytes(pid: number): number {
	const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
	return match ? Number(match[1]) * 1024 : 0;
}

/** Samples a process's RSS until stopped; returns the highest value seen. */
export function sampleRss(pid: number, intervalMs: number): { stop: () => number } {
	let peak = rssBytes(pid);
	const timer = setInterval(() => {
		peak = Math.max(peak, rssBytes(pid));
	}, intervalMs);
	return {
		stop: () => {
			clearInterval(timer);
			return Math.max(peak, rssBytes(pid));
		},
	};
}

/**
 * Waits until the processes use less than `maxCores` of CPU over `windowMs`, so work left over
 * from one round (drains, alarms, consumer batches) is not billed to the next.
 */
export async function waitForIdle(
	pids: readonly number[],
	{ maxCores = 0.05, windowMs = 500, timeoutMs = 30_000 } = {},
): Promise<boolean> {
	const deadline = Date.now() + timeoutMs;
	let previous = cpuSeconds(pids);
	while (Date.now() < deadline) {
		await sleep(windowMs);
		const current = cpuSeconds(pids);
		if ((current - previous) / (windowMs / 1000) < maxCores) return true;
		previous = current;
	}
	return false;
}
