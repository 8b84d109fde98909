import { admin, query } from "../api";
import { code, errorBox, formatTime, h, heading, liveStatus, showError } from "../dom";
import { pageThrough } from "../paging";
import type { Page, QuarantineItem, ReprocessResult } from "../types";

function outcomeLine(outcome: string | null, at: string | null): HTMLElement {
	return h(
		"p",
		{ class: "muted" },
		outcome === null
			? "Not reprocessed"
			: h("span", {}, "Reprocessed: ", h("strong", {}, outcome), " at ", formatTime(at)),
	);
}

function describe(result: ReprocessResult): string {
	const event = result.eventId ? ` as ${result.eventId}` : "";
	switch (result.outcome) {
		case "stored":
			return `Stored${event}${result.repeated ? " (earlier)" : ""}.`;
		case "duplicate":
			return `Already stored${event}${result.repeated ? " (earlier)" : ""}.`;
		case "still_invalid":
			return `Still invalid: ${result.reason ?? ""}`;
	}
}

function card(item: QuarantineItem): HTMLElement {
	const status = liveStatus();
	const error = errorBox();
	let state = outcomeLine(item.reprocessOutcome, item.reprocessedAt);
	const button = h("button", { type: "button" }, "Reprocess");
	button.setAttribute("aria-describedby", `q-${item.id}`);
	button.addEventListener("click", async () => {
		button.disabled = true;
		error.hidden = true;
		status.textContent = "Reprocessing…";
		try {
			const result = await admin<ReprocessResult>(`/quarantine/${encodeURIComponent(item.id)}/reprocess`, {});
			status.textContent = describe(result);
			const fresh = outcomeLine(result.outcome, result.reprocessedAt ?? new Date().toISOString());
			state.replaceWith(fresh);
			state = fresh;
		} catch (caught) {
			status.textContent = "";
			showError(error, caught);
		} finally {
			button.disabled = false;
		}
	});
	return h(
		"article",
		{ class: "card" },
		h("h2", { id: `q-${item.id}` }, code(item.id)),
		h("p", { class: "muted" }, "Received ", formatTime(item.receivedAt)),
		h("p", { class: "reason" }, h("strong", {}, "Reason: "), item.reason),
		h("details", {}, h("summary", {}, "Raw element"), h("pre", { tabindex: 0 }, JSON.stringify(item.raw, null, 2))),
		state,
		h("div", { class: "actions" }, button),
		status,
		error,
	);
}

/** #/quarantine: elements that failed validation, oldest first, each with its reason, raw JSON and a reprocess button. */
export async function quarantinePage(main: HTMLElement): Promise<void> {
	const error = errorBox();
	const list = h("div", { class: "cards" });
	const more = h("button", { type: "button", hidden: true, class: "secondary" }, "Load more");
	main.append(
		heading("Quarantine"),
		h("p", { class: "muted" }, "Elements that failed validation. Reprocessing runs one through ingest again."),
		error,
		list,
		more,
	);
	let shown = 0;
	await pageThrough(
		more,
		error,
		(cursor) => admin<Page<QuarantineItem>>(`/quarantine${query({ limit: 20, cursor })}`),
		(page) => {
			for (const item of page.items) list.append(card(item));
			shown += page.items.length;
			if (shown === 0) list.append(h("p", {}, "Nothing is quarantined."));
		},
	);
}
