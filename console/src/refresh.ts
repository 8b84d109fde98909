import { h } from "./dom";

/*
 * Auto-refresh: a page's figures reload on their own, in place (focus and scroll stay where they
 * are), while the page is open and the tab visible. The user can pause it; the choice holds for the
 * tab's life (in memory: sessionStorage keeps only the token).
 */

let paused = false;

export interface Refresher {
	/** The control: what refreshes, when it last did, and the pause button. */
	element: HTMLElement;
	/** Reload now (the first load, or after an action) and go on; throws what the load threw. */
	now(): Promise<void>;
	/** Stop for good (the thing watched is settled). */
	stop(): void;
}

const clock = (date: Date) => date.toISOString().slice(11, 19);

export function autoRefresh(
	owner: HTMLElement,
	load: () => Promise<void>,
	{ everyMs = 10_000, what = "Auto-refresh" }: { everyMs?: number; what?: string } = {},
): Refresher {
	const updated = h("span", { class: "muted" }, "");
	const button = h("button", { type: "button", class: "secondary small", "aria-pressed": String(paused) });
	const label = () => {
		button.textContent = paused ? `Resume ${what.toLowerCase()}` : `Pause ${what.toLowerCase()}`;
		button.setAttribute("aria-pressed", String(paused));
	};
	label();
	let timer: ReturnType<typeof setTimeout> | undefined;
	let stopped = false;
	let running: Promise<void> | null = null;
	const run = async () => {
		if (running !== null) return running;
		running = (async () => {
			try {
				await load();
				updated.textContent = `Updated ${clock(new Date())} UTC.`;
			} catch (error) {
				updated.textContent = `Refresh failed: ${error instanceof Error ? error.message : String(error)}`;
				throw error;
			} finally {
				running = null;
			}
		})();
		return running;
	};
	const schedule = () => {
		clearTimeout(timer);
		if (stopped) return;
		timer = setTimeout(async () => {
			// The page was left: this refresher ends with it.
			if (!owner.isConnected) return;
			// A failed refresh says so in the control, and the next one tries again.
			if (!paused && document.visibilityState === "visible") await run().catch(() => undefined);
			schedule();
		}, everyMs);
	};
	button.addEventListener("click", () => {
		paused = !paused;
		label();
		if (!paused) void run().catch(() => undefined);
	});
	schedule();
	const element = h(
		"p",
		{ class: "refresh", role: "group", "aria-label": what },
		h("span", { class: "muted" }, `${what} every ${Math.round(everyMs / 1000)} s. `),
		updated,
		" ",
		button,
	);
	return {
		element,
		now: async () => {
			try {
				await run();
			} finally {
				schedule();
			}
		},
		stop: () => {
			stopped = true;
			clearTimeout(timer);
			element.remove();
		},
	};
}
