/*
 * `npm run simulate:faults -- --seeds N` runs the fault simulation (test/sim) for seeds 1..N and
 * prints a table of invariants × seeds, the seed of every failure, and exits non-zero on one;
 * `--seed S` replays one seed with its forensics; `--from F` starts the range elsewhere.
 * Each seed is one vitest test inside workerd (the sim project in vitest.config.ts).
 */
import { spawn } from "node:child_process";
import { PROJECT_ROOT } from "./lib/dev-vars.ts";

interface SeedLine {
	seed: number;
	ok: boolean;
	realMs: number;
	stats: Record<string, number>;
	results: Array<{ name: string; checked: number; violations: number; notes?: Record<string, number> }>;
}

const USAGE = `usage: npm run simulate:faults -- [--seeds N] [--from F] [--seed S]
  --seeds N   run seeds F..F+N-1 (default 20)
  --from F    first seed of the range (default 1)
  --seed S    replay one seed, printing its forensics on a failure`;

function parse(argv: string[]): { blocks: string[]; debug: boolean } | null {
	let count = 20;
	let from = 1;
	let single: number | null = null;
	for (let index = 0; index < argv.length; index += 1) {
		const flag = argv[index];
		const value = Number(argv[index + 1]);
		if (flag === "--help" || flag === "-h") return null;
		if (!Number.isInteger(value) || value < 0) throw new Error(`${flag} needs a whole number\n${USAGE}`);
		if (flag === "--seeds") count = value;
		else if (flag === "--from") from = value;
		else if (flag === "--seed") single = value;
		else throw new Error(`unknown option ${flag}\n${USAGE}`);
		index += 1;
	}
	if (single !== null) return { blocks: [String(single)], debug: true };
	return { blocks: blocksOf(from, from + count - 1), debug: false };
}

/**
 * Seeds of one thousand share nothing with the next but their slots of virtual time (seed 1001
 * starts where seed 1 does, test/sim/harness/run-seed.ts), so each thousand runs in a process of its
 * own: a Worker cache with an expiry time must never meet an earlier clock.
 */
function blocksOf(first: number, last: number): string[] {
	const blocks: string[] = [];
	for (let from = first; from <= last; from = (Math.floor(from / 1000) + 1) * 1000) {
		blocks.push(`${from}-${Math.min(last, (Math.floor(from / 1000) + 1) * 1000 - 1)}`);
	}
	return blocks;
}

function table(lines: SeedLine[]): string {
	const names = lines[0]?.results.map((result) => result.name) ?? [];
	const rows = names.map((name) => {
		const cells = lines.map((line) => line.results.find((result) => result.name === name));
		const broken = cells.filter((cell) => (cell?.violations ?? 0) > 0).length;
		const checked = cells.reduce((sum, cell) => sum + (cell?.checked ?? 0), 0);
		const notes = new Map<string, number>();
		for (const cell of cells)
			for (const [key, value] of Object.entries(cell?.notes ?? {})) notes.set(key, (notes.get(key) ?? 0) + value);
		const noted = [...notes].map(([key, value]) => `${key} ${value}`).join(", ");
		return `| ${name} | ${lines.length - broken} / ${lines.length} | ${checked} | ${noted} |`;
	});
	return ["| invariant | seeds clean | cases checked | counted |", "|---|--:|--:|---|", ...rows].join("\n");
}

/** One vitest process for a range of seeds; each seed's result line is added to `lines` as it comes. */
function runBlock(seeds: string, debug: boolean, lines: SeedLine[], keep: (text: string) => void): Promise<number> {
	return new Promise<number>((resolve) => {
		const child = spawn(process.execPath, ["node_modules/vitest/vitest.mjs", "run", "--project", "sim"], {
			cwd: PROJECT_ROOT,
			env: {
				...process.env,
				SIM_SEEDS: seeds,
				SIM_DEBUG: debug ? "1" : "",
				WRANGLER_SEND_METRICS: "false",
			},
			stdio: ["ignore", "pipe", "pipe"],
		});
		const take = (chunk: Buffer) => {
			const text = chunk.toString("utf8");
			keep(text);
			// A broken seed's report, as the test prints it (not the forensics of --seed, printed at the end).
			if (!debug) {
				for (const match of text.matchAll(/^\[sim \d+\] .*$/gm)) process.stdout.write(`${match[0]}\n`);
			}
			for (const match of text.matchAll(/SIM_RESULT (\{.*\})/g)) {
				const line = JSON.parse(match[1] as string) as SeedLine;
				lines.push(line);
				process.stdout.write(
					`seed ${line.seed}: ${line.ok ? "ok" : "BROKEN"} (${(line.realMs / 1000).toFixed(1)} s)\n`,
				);
			}
		};
		child.stdout.on("data", take);
		child.stderr.on("data", take);
		child.on("close", (status) => resolve(status ?? 1));
	});
}

async function main(): Promise<number> {
	let options: ReturnType<typeof parse>;
	try {
		options = parse(process.argv.slice(2));
	} catch (error) {
		process.stderr.write(`${(error as Error).message}\n`);
		return 2;
	}
	if (options === null) {
		process.stdout.write(`${USAGE}\n`);
		return 0;
	}
	const lines: SeedLine[] = [];
	let output = "";
	let code = 0;
	for (const seeds of options.blocks) {
		const status = await runBlock(seeds, options.debug, lines, (text) => {
			output += text;
		});
		if (status !== 0) code = status;
	}
	lines.sort((a, b) => a.seed - b.seed);
	if (options.debug || lines.some((line) => !line.ok)) {
		// The failing seeds' own reports (and, for --seed, the forensics) come from vitest's output.
		const failures = output
			.split("\n")
			.filter((line) =>
				options.debug
					? /^\s*(-|\[sim|seed \d+ broke| {2}\S)/.test(line)
					: /^\s*(-|\[sim|seed \d+ broke| {2}[a-z].*: \d+ broken)/.test(line),
			);
		process.stdout.write(`\n${failures.join("\n")}\n`);
	}
	process.stdout.write(`\n${table(lines)}\n\n`);
	const failed = lines.filter((line) => !line.ok).map((line) => line.seed);
	process.stdout.write(
		failed.length === 0
			? `${lines.length} seeds, all clean.\n`
			: `${failed.length} of ${lines.length} seeds broke a promise: ${failed.join(", ")} (replay one: npm run simulate:faults -- --seed ${failed[0]})\n`,
	);
	if (lines.length === 0) process.stdout.write(output.slice(-4000));
	return failed.length > 0 || lines.length === 0 ? 1 : code;
}

process.exitCode = await main();
