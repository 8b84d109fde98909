import type { SendStats } from "./send-traffic.ts";

/*
 * Progress on stderr: a redrawn bar on a terminal, a plain line every few seconds otherwise (CI
 * logs and pipes keep every line, so redrawing there would only add noise).
 */

const BAR_WIDTH = 24;
const TTY_INTERVAL_MS = 100;
const PLAIN_INTERVAL_MS = 3000;

export interface Progress {
	update(stats: SendStats): void;
	done(stats: SendStats): void;
}

export function progressReporter(total: number, stream: NodeJS.WriteStream = process.stderr): Progress {
	const started = performance.now();
	const tty = stream.isTTY === true;
	let lastDrawn = 0;

	const describe = (stats: SendStats) => {
		const seconds = (performance.now() - started) / 1000;
		const rate = seconds > 0 ? (stats.posts / seconds).toFixed(0) : "0";
		const { "2xx": ok, "401": challenged, other } = stats.byStatus;
		return `${stats.posts}/${total} posts · ${rate}/s · 2xx ${ok} · 401 ${challenged} · other ${other}`;
	};
	const draw = (stats: SendStats) => {
		const filled = total === 0 ? BAR_WIDTH : Math.round((stats.posts / total) * BAR_WIDTH);
		stream.write(`\r[${"█".repeat(filled)}${"░".repeat(BAR_WIDTH - filled)}] ${describe(stats)}\x1b[K`);
	};

	return {
		update(stats) {
			const now = performance.now();
			if (now - lastDrawn < (tty ? TTY_INTERVAL_MS : PLAIN_INTERVAL_MS)) return;
			lastDrawn = now;
			if (tty) draw(stats);
			else stream.write(`simulate: ${describe(stats)}\n`);
		},
		done(stats) {
			if (tty) {
				draw(stats);
				stream.write("\n");
			} else stream.write(`simulate: ${describe(stats)}\n`);
		},
	};
}
